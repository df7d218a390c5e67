package alarm

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logRecorder is a slog.Handler that keeps every message.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// fakeDisk is a filesystem whose free space the test sets.
type fakeDisk struct {
	free  atomic.Uint64
	fail  atomic.Bool
	calls atomic.Int64
}

func (f *fakeDisk) measure(string) (uint64, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return 0, errors.New("statfs: input/output error")
	}
	return f.free.Load(), nil
}

// waitFor polls cond every millisecond for up to 2 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("after 2 s: %s", what)
}

func TestDiskMonitorRaisesAndClears(t *testing.T) {
	var r recorder
	var logs logRecorder
	disk := &fakeDisk{}
	disk.free.Store(60_000_000)
	d, err := newDiskMonitor(&r, "/data", DiskFreeLimit{Bytes: DefaultDiskFreeLimit}, slog.New(&logs), disk.measure)
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	defer d.Stop()
	if st := d.Status(); st.Alarm || st.Free != 60_000_000 || st.Limit != 50_000_000 || st.Dir != "/data" || st.Interval != diskMinInterval {
		t.Fatalf("10 MB above the limit: %+v", st)
	}
	// The disk fills: the monitor finds it by itself, within its short
	// interval near the limit.
	disk.free.Store(49_999_999)
	// The target hears of a change after Status shows it: wait for both.
	waitFor(t, "disk alarm set", func() bool { return d.Status().Alarm && len(r.got()) == 1 })
	if st := d.Status(); st.Interval != diskAlarmedInterval || st.Free != 49_999_999 {
		t.Fatalf("alarmed: %+v", st)
	}
	disk.free.Store(50_000_000) // at the limit is enough (free < limit alarms)
	waitFor(t, "disk alarm cleared", func() bool { return !d.Status().Alarm && len(r.got()) == 2 })
	if got, res := r.got(), r.gotResources(); !slices.Equal(got, []bool{true, false}) || !slices.Equal(res, []string{Disk, Disk}) {
		t.Fatalf("changes %v on %v, want [true false] on disk", got, res)
	}
	want := []string{
		"Enabling free disk space monitoring",
		"Disk free limit set to 50MB",
		"Free disk space is insufficient. Free bytes: 49999999. Limit: 50000000",
		"Free disk space is sufficient. Free bytes: 50000000. Limit: 50000000",
	}
	if got := logs.got(); !slices.Equal(got, want) {
		t.Fatalf("log\n%q\nwant\n%q", got, want)
	}

	// Raised at run time above the free space: alarm at once, logged.
	d.SetLimit(DiskFreeLimit{Bytes: 1_500_000_000})
	if st := d.Status(); !st.Alarm || st.Limit != 1_500_000_000 {
		t.Fatalf("after SetLimit: %+v", st)
	}
	if got := logs.got(); got[4] != "Disk free limit set to 1500MB" {
		t.Fatalf("log after SetLimit: %q", got[4:])
	}
	// Relative to the machine's memory.
	d.SetLimit(DiskFreeLimit{MemRelative: 1e-9})
	if st := d.Status(); st.Alarm || st.Limit != uint64(float64(totalMemory())*1e-9+0.5) {
		t.Fatalf("after SetLimit(mem_relative): %+v", st)
	}
}

func TestDiskMonitorStartsAlarmedAndSurvivesErrors(t *testing.T) {
	var r recorder
	var logs logRecorder
	disk := &fakeDisk{}
	disk.free.Store(1000)
	d, err := newDiskMonitor(&r, "/data", DiskFreeLimit{Bytes: 2000}, slog.New(&logs), disk.measure)
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	defer d.Stop()
	// Start checks before it returns: a full disk blocks from the start.
	if st := d.Status(); !st.Alarm || !slices.Equal(r.got(), []bool{true}) {
		t.Fatalf("a full disk at start: %+v, changes %v", st, r.got())
	}
	disk.fail.Store(true)
	before := disk.calls.Load()
	waitFor(t, "two failed checks", func() bool { return disk.calls.Load() >= before+2 })
	if st := d.Status(); !st.Alarm || st.Interval != diskMaxInterval {
		t.Fatalf("failing: %+v", st)
	}
	n := 0
	for _, m := range logs.got() {
		if m == "Free disk space monitor encountered an error: statfs: input/output error" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error logged %d times, want once: %q", n, logs.got())
	}
	disk.fail.Store(false)
	disk.free.Store(5000)
	waitFor(t, "cleared after the errors", func() bool { return !d.Status().Alarm })
}

func TestDiskMonitorStopsAndRefusesUnreadableDir(t *testing.T) {
	if _, err := NewDiskMonitor(&recorder{}, "/nonexistent/beatmq/data", DiskFreeLimit{Bytes: 1}, nil); err == nil {
		t.Fatal("NewDiskMonitor on a missing directory succeeded")
	}
	d, err := NewDiskMonitor(&recorder{}, t.TempDir(), DiskFreeLimit{Bytes: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); st.Free == 0 {
		t.Fatalf("statfs of a temporary directory: %+v", st)
	}
	d.Stop()
	d.Start() // stopped: does not start
	d.Stop()
}

// The wait before the next check shrinks when free space falls fast, even
// far above the limit: a disk filling at several GiB/s is looked at every
// 10 ms, not every second.
func TestDiskMonitorFollowsTheFallRate(t *testing.T) {
	disk := &fakeDisk{}
	disk.free.Store(50 << 30)
	d, err := newDiskMonitor(&recorder{}, "/data", DiskFreeLimit{Bytes: 1 << 30}, nil, disk.measure)
	if err != nil {
		t.Fatal(err)
	}
	d.check()
	if st := d.Status(); st.Interval != diskMaxInterval {
		t.Fatalf("49 GiB of headroom, nothing falling: %v", st.Interval)
	}
	disk.free.Store(40 << 30) // 10 GiB gone in well under a second
	d.check()
	if st := d.Status(); st.Interval != diskMinInterval || st.Alarm {
		t.Fatalf("after a fast fall: %+v", st)
	}
	d.check() // nothing fell since: back to the headroom at 1 GiB/s
	if st := d.Status(); st.Interval != diskMaxInterval {
		t.Fatalf("steady again: %v", st.Interval)
	}
}
