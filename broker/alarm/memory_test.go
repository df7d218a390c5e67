package alarm

import (
	"sync"
	"testing"
)

// recorder is a Target that records every alarm change.
type recorder struct {
	mu        sync.Mutex
	changes   []bool
	resources []string
}

func (r *recorder) SetAlarm(resource string, on bool) {
	r.mu.Lock()
	r.changes = append(r.changes, on)
	r.resources = append(r.resources, resource)
	r.mu.Unlock()
}

func (r *recorder) got() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.changes...)
}

func (r *recorder) gotResources() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.resources...)
}

func TestMemoryMonitorRaisesAndClears(t *testing.T) {
	var r recorder
	m, err := NewMemoryMonitor(&r, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	defer m.Stop()
	if st := m.Status(); st.Alarm || st.Total == 0 || st.HighWatermark != 1 || st.Limit != st.Total {
		t.Fatalf("at 1.0: %+v", st)
	}
	// No process fits in 0 bytes: the alarm goes on at once.
	if err := m.SetHighWatermark(0); err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); !st.Alarm || st.Limit != 0 || st.Used == 0 {
		t.Fatalf("at 0: %+v", st)
	}
	if err := m.SetHighWatermark(1); err != nil {
		t.Fatal(err)
	}
	if got := r.got(); len(got) != 2 || !got[0] || got[1] {
		t.Fatalf("alarm changes %v, want [true false]", got)
	}
	if res := r.gotResources(); res[0] != Memory || res[1] != Memory {
		t.Fatalf("resources %v, want memory twice", res)
	}
}

func TestMemoryMonitorRejectsBadFractions(t *testing.T) {
	var r recorder
	for _, f := range []float64{-0.1, 1.5} {
		if _, err := NewMemoryMonitor(&r, f, nil); err == nil {
			t.Errorf("NewMemoryMonitor(%v) accepted", f)
		}
	}
	m, err := NewMemoryMonitor(&r, 0.4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetHighWatermark(2); err == nil {
		t.Error("SetHighWatermark(2) accepted")
	}
	m.Stop() // never started: nothing to wait for
	m.Start()
	if len(r.got()) != 0 {
		t.Fatalf("a stopped monitor checked: %v", r.got())
	}
}
