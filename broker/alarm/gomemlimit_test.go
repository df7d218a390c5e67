package alarm

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestGoMemoryLimitFor(t *testing.T) {
	for _, c := range []struct {
		watermark uint64
		want      int64
	}{
		{10 << 30, int64(float64(10<<30) * 0.95)},
		{400 << 20, int64(float64(400<<20) * 0.95)},
		{64 << 20, goLimitFloor},
		{0, goLimitFloor},
		{math.MaxUint64, 1 << 62},
	} {
		if got := goMemoryLimitFor(c.watermark); got != c.want {
			t.Errorf("goMemoryLimitFor(%d) = %d, want %d", c.watermark, got, c.want)
		}
	}
}

// The monitor sets Go's limit below the watermark, follows it, restores it
// on Stop, lets one monitor at a time drive it, and leaves it alone when
// GOMEMLIMIT is set.
func TestMemoryMonitorDrivesGoMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	var r recorder
	m, err := NewMemoryMonitor(&r, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.DriveGoMemoryLimit()
	m.Start()
	want := goMemoryLimitFor(m.Status().Total)
	if got := debug.SetMemoryLimit(-1); got != want || m.GoMemoryLimit() != want {
		t.Fatalf("Go limit %d (monitor says %d), want %d", got, m.GoMemoryLimit(), want)
	}
	if want >= int64(m.Status().Limit) {
		t.Fatalf("Go limit %d not below the watermark %d", want, m.Status().Limit)
	}
	if err := m.SetHighWatermark(0.5); err != nil {
		t.Fatal(err)
	}
	if got, want := debug.SetMemoryLimit(-1), goMemoryLimitFor(m.Status().Limit); got != want {
		t.Fatalf("after SetHighWatermark(0.5): Go limit %d, want %d", got, want)
	}
	// A second monitor does not take it over.
	other, _ := NewMemoryMonitor(&r, 0.9, nil)
	other.DriveGoMemoryLimit()
	other.Start()
	if other.GoMemoryLimit() != 0 || debug.SetMemoryLimit(-1) != goMemoryLimitFor(m.Status().Limit) {
		t.Fatalf("a second monitor changed the limit")
	}
	other.Stop()
	m.Stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("after Stop: Go limit %d, want %d as before", got, before)
	}

	t.Setenv("GOMEMLIMIT", "8GiB")
	e, _ := NewMemoryMonitor(&r, 0.4, nil)
	e.DriveGoMemoryLimit()
	e.Start()
	defer e.Stop()
	if e.GoMemoryLimit() != 0 || debug.SetMemoryLimit(-1) != before {
		t.Fatal("the monitor overrode an explicit GOMEMLIMIT")
	}
}
