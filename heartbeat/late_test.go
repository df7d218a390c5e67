package heartbeat

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// lateFake is a connection's side of the late check: octet counters and the
// time of the last octet received, set by the test; the warnings OnLate got.
type lateFake struct {
	recv, sent atomic.Uint64
	mu         sync.Mutex
	last       time.Time
	start      time.Time
	calls      []time.Duration // OnLate calls, since start
	accept     func(n int) bool
	timeouts   []time.Duration
}

func (f *lateFake) Received() uint64 { return f.recv.Load() }
func (f *lateFake) Sent() uint64     { return f.sent.Load() }

// heard records an octet from the peer now.
func (f *lateFake) heard() {
	f.mu.Lock()
	f.last = time.Now()
	f.mu.Unlock()
	f.recv.Add(1)
}

func startLate(t *testing.T, f *lateFake, interval, late time.Duration) *Monitor {
	f.start, f.last = time.Now(), time.Now()
	f.recv.Store(8) // the tune-ok
	m := Start(Config{
		Interval:      interval,
		Counters:      f,
		SendHeartbeat: func() error { f.sent.Add(8); return nil },
		OnTimeout: func() {
			f.mu.Lock()
			f.timeouts = append(f.timeouts, time.Since(f.start))
			f.mu.Unlock()
		},
		Late: late,
		LastReceived: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.last
		},
		OnLate: func(silence time.Duration) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.calls = append(f.calls, time.Since(f.start))
			return f.accept == nil || f.accept(len(f.calls))
		},
	})
	t.Cleanup(m.Stop)
	return m
}

// The late check runs on the sender's ticks (every T/2): the first tick at
// which the peer has been silent for Late warns, once per silence; the peer
// speaking starts a new silence; a paused receiver warns about nothing, and
// after Resume the silence counts from Resume; a refused warning is offered
// again at the next tick. Always before the receiver's timeout.
func TestLateWarning(t *testing.T) {
	const T = 4 * time.Second
	for _, tc := range []struct {
		name     string
		script   func(f *lateFake, m *Monitor)
		accept   func(n int) bool
		calls    []time.Duration
		timeouts []time.Duration
	}{
		{"silent", func(*lateFake, *Monitor) {}, nil,
			[]time.Duration{6 * time.Second}, []time.Duration{12 * time.Second}},
		{"speaks at 7s", func(f *lateFake, _ *Monitor) {
			time.Sleep(7 * time.Second)
			f.heard()
		}, nil, []time.Duration{6 * time.Second, 14 * time.Second}, []time.Duration{16 * time.Second}},
		{"paused 1s to 10s", func(_ *lateFake, m *Monitor) {
			time.Sleep(time.Second)
			m.Pause()
			time.Sleep(9 * time.Second)
			m.Resume()
		}, nil, []time.Duration{16 * time.Second}, []time.Duration{22 * time.Second}},
		{"refused twice", func(*lateFake, *Monitor) {}, func(n int) bool { return n > 2 },
			[]time.Duration{6 * time.Second, 8 * time.Second, 10 * time.Second}, []time.Duration{12 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &lateFake{accept: tc.accept}
				m := startLate(t, f, T, 3*T/2)
				tc.script(f, m)
				time.Sleep(30 * time.Second)
				m.Stop()
				f.mu.Lock()
				defer f.mu.Unlock()
				if !slices.Equal(f.calls, tc.calls) || !slices.Equal(f.timeouts, tc.timeouts) {
					t.Fatalf("OnLate at %v, OnTimeout at %v; want %v and %v", f.calls, f.timeouts, tc.calls, tc.timeouts)
				}
			})
		})
	}
}

// Late 0 disables the check.
func TestLateWarningOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &lateFake{}
		m := startLate(t, f, time.Second, 0)
		time.Sleep(5 * time.Second)
		m.Stop()
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.calls) != 0 || len(f.timeouts) != 1 {
			t.Fatalf("OnLate at %v, OnTimeout at %v", f.calls, f.timeouts)
		}
	})
}
