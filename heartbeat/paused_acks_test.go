package heartbeat

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeTCP models what TCP_INFO tells about a peer: every heartbeat the
// sender writes is in flight until the peer's host acknowledges it one round
// trip later, unless the host has vanished by the time the segment arrives.
// A closed window (the peer does not read) leaves nothing in flight.
type fakeTCP struct {
	rtt time.Duration

	mu       sync.Mutex
	sent     uint64
	acked    uint64
	goneAt   time.Time // zero: the host is up
	lastAck  time.Time
	noWindow bool // the peer's window is closed: nothing is sent, probes are answered
	unknown  bool // the kernel cannot tell (ok false)
}

func (f *fakeTCP) send() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noWindow {
		return nil
	}
	f.sent += 8
	upTo := f.sent
	time.AfterFunc(f.rtt, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.goneAt.IsZero() && !time.Now().Before(f.goneAt) {
			return // lost: nobody acknowledges it
		}
		f.acked, f.lastAck = upTo, time.Now()
	})
	return nil
}

func (f *fakeTCP) vanish(at time.Time) {
	f.mu.Lock()
	f.goneAt = at
	f.mu.Unlock()
}

func (f *fakeTCP) acks() (Acks, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Acks{Acked: f.acked, Waiting: f.acked < f.sent}, !f.unknown
}

func (f *fakeTCP) Received() uint64 { return 1 }
func (f *fakeTCP) Sent() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent
}

// startPausable starts a Monitor over f that records when OnUnreachable and
// OnTimeout were called, relative to its start.
func startPausable(f *fakeTCP, T time.Duration) (m *Monitor, start time.Time, unreachable, timeout *atomic.Int64) {
	unreachable, timeout = new(atomic.Int64), new(atomic.Int64)
	start = time.Now()
	m = Start(Config{Interval: T, Counters: f, SendHeartbeat: f.send, PeerAcks: f.acks,
		OnUnreachable: func() { unreachable.Store(int64(time.Since(start))) },
		OnTimeout:     func() { timeout.Store(int64(time.Since(start))) }})
	return m, start, unreachable, timeout
}

// A peer whose host vanishes while the receiver is paused is reported 2T to
// 3T after its last acknowledgement, and at most 3T after it vanished,
// whatever the phase of the vanishing against the checks.
func TestPausedPeerVanishedReportedWithin3T(t *testing.T) {
	const T = time.Second
	for i := range 20 {
		vanish := 5*T + time.Duration(i)*T/10
		t.Run(vanish.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeTCP{rtt: 10 * time.Millisecond}
				m, start, unreachable, timeout := startPausable(f, T)
				defer m.Stop()
				time.Sleep(2*T + T/4)
				m.Pause()
				f.vanish(start.Add(vanish))
				time.Sleep(vanish + 10*T - time.Since(start))
				synctest.Wait()
				got := time.Duration(unreachable.Load())
				f.mu.Lock()
				lastAck := f.lastAck.Sub(start)
				f.mu.Unlock()
				if got == 0 {
					t.Fatalf("vanished at %v, never reported", vanish)
				}
				if got-lastAck < 2*T || got-lastAck > 3*T {
					t.Errorf("reported at %v, %v after the last acknowledgement (%v); want 2T..3T", got, got-lastAck, lastAck)
				}
				if got-vanish > 3*T {
					t.Errorf("reported at %v, %v after vanishing at %v; want at most 3T", got, got-vanish, vanish)
				}
				if timeout.Load() != 0 {
					t.Errorf("OnTimeout called while paused")
				}
			})
		})
	}
}

// A peer gone before Pause is reported exactly 3T after Pause: the first
// paused check only records, as after resume_monitor/1.
func TestPausedPeerGoneBeforePause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		f := &fakeTCP{rtt: 10 * time.Millisecond}
		m, start, unreachable, _ := startPausable(f, T)
		defer m.Stop()
		f.vanish(start.Add(T + T/5))
		time.Sleep(2*T + T/4)
		m.Pause()
		time.Sleep(10 * T)
		synctest.Wait()
		if got, want := time.Duration(unreachable.Load()), 2*T+T/4+3*T; got != want {
			t.Errorf("reported at %v, want %v (3T after Pause)", got, want)
		}
	})
}

// A live peer acknowledges every heartbeat, so a paused receiver never
// reports it, however long the pause; neither does it report a peer with
// nothing in flight (its window closed: probes answered) or one the kernel
// cannot judge.
func TestPausedLivePeerNeverReported(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *fakeTCP
	}{
		{"acknowledging", &fakeTCP{rtt: 10 * time.Millisecond}},
		{"slow round trip", &fakeTCP{rtt: 400 * time.Millisecond}},
		{"window closed", &fakeTCP{rtt: 10 * time.Millisecond, noWindow: true}},
		{"kernel cannot tell", &fakeTCP{rtt: 10 * time.Millisecond, unknown: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const T = time.Second
				m, _, unreachable, timeout := startPausable(tc.f, T)
				defer m.Stop()
				time.Sleep(T / 3)
				if tc.f.noWindow {
					tc.f.mu.Lock()
					tc.f.goneAt = time.Now() // nothing of its own is acknowledged any more
					tc.f.mu.Unlock()
				}
				m.Pause()
				time.Sleep(500 * T)
				synctest.Wait()
				if got := unreachable.Load(); got != 0 {
					t.Errorf("live peer reported unreachable at %v", time.Duration(got))
				}
				if got := timeout.Load(); got != 0 {
					t.Errorf("paused receiver timed out at %v", time.Duration(got))
				}
			})
		})
	}
}

// Resume goes back to counting received octets with a fresh window: a peer
// that vanished while paused and stays silent is then reported by OnTimeout,
// 3T after Resume, as RabbitMQ would; a second Pause starts the
// acknowledgement checks afresh.
func TestPausedAcksResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		f := &fakeTCP{rtt: 10 * time.Millisecond}
		m, start, unreachable, timeout := startPausable(f, T)
		defer m.Stop()
		time.Sleep(T / 4)
		m.Pause()
		f.vanish(start.Add(T))
		time.Sleep(T + T/2) // 1.75T: the paused checks have not decided yet
		m.Resume()
		time.Sleep(10 * T)
		synctest.Wait()
		if got := unreachable.Load(); got != 0 {
			t.Errorf("OnUnreachable at %v after Resume", time.Duration(got))
		}
		if got, want := time.Duration(timeout.Load()), T/4+T+T/2+3*T; got != want {
			t.Errorf("OnTimeout at %v, want %v (3T after Resume)", got, want)
		}
	})
}

// Pause, Resume and Pause again: the acknowledgement checks start afresh at
// the second Pause, so the report comes 3T after it.
func TestPausedAcksPauseAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		f := &fakeTCP{rtt: 10 * time.Millisecond}
		var recv atomic.Uint64
		start := time.Now()
		var unreachable atomic.Int64
		m := Start(Config{Interval: T, Counters: countersFunc{recv.Load, f.Sent}, SendHeartbeat: func() error {
			recv.Add(8) // the peer answers every heartbeat while it is up
			return f.send()
		}, PeerAcks: f.acks, OnUnreachable: func() { unreachable.Store(int64(time.Since(start))) }})
		defer m.Stop()
		time.Sleep(T / 4)
		m.Pause()
		time.Sleep(T)
		m.Resume()
		f.vanish(start.Add(2 * T))
		time.Sleep(T)
		m.Pause() // at 2.25T, the host gone since 2T
		time.Sleep(10 * T)
		synctest.Wait()
		if got, want := time.Duration(unreachable.Load()), T/4+T+T+3*T; got != want {
			t.Errorf("reported at %v, want %v (3T after the second Pause)", got, want)
		}
	})
}

// countersFunc adapts two functions to Counters.
type countersFunc struct{ recv, sent func() uint64 }

func (c countersFunc) Received() uint64 { return c.recv() }
func (c countersFunc) Sent() uint64     { return c.sent() }
