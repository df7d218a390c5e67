package heartbeat

import (
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A peer that says nothing after tune-ok is reported exactly 3T after start:
// the first check (T) sees the tune-ok octets against the stored 0, the
// second (2T) sees no change, the third (3T) fires
// (rabbit_heartbeat:start_heartbeat_receiver/4, Threshold 1). The receiver
// then stops: one OnTimeout, however long the connection lingers.
func TestReceiverSilentPeerClosedAt3T(t *testing.T) {
	for _, T := range testIntervals {
		t.Run(T.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeConn(t, T)
				p.sleepUntil(3*T - 1)
				synctest.Wait()
				if got := p.timeoutTimes(); len(got) != 0 {
					t.Fatalf("timeout at %v, before 3T", got)
				}
				p.sleepUntil(10 * T)
				synctest.Wait()
				if got := p.timeoutTimes(); !equalDurations(got, []time.Duration{3 * T}) {
					t.Errorf("timeouts at %v, want exactly [%v]", got, 3*T)
				}
			})
		})
	}
}

// The receiver stops after OnTimeout: it no longer reads the counter.
func TestReceiverStopsAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		c.recv.Store(8)
		var timeouts int
		m := Start(Config{Interval: T, Counters: &c, SendHeartbeat: func() error { return nil },
			OnTimeout: func() { timeouts++ }})
		defer m.Stop()
		time.Sleep(3*T + T/2)
		synctest.Wait()
		reads := c.recvReads.Load()
		time.Sleep(100 * T)
		synctest.Wait()
		if timeouts != 1 || reads != 3 || c.recvReads.Load() != reads {
			t.Errorf("timeouts %d, counter reads %d then %d; want 1, 3, 3", timeouts, reads, c.recvReads.Load())
		}
	})
}

// A peer whose largest gap between octets is under 2T is never closed,
// whatever its phase against the receiver's ticks; a single octet is enough.
func TestReceiverPeerSpeakingEvery1_9TNeverClosed(t *testing.T) {
	const T = time.Second
	for _, phase := range []time.Duration{T / 100, T / 4, T / 2, T * 3 / 4, T * 99 / 100} {
		t.Run(fmt.Sprint("phase ", phase), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeConn(t, T)
				for at := phase; at < 40*T; at += T * 19 / 10 {
					p.sleepUntil(at)
					p.clientSend([]byte{0}) // not even a whole frame
				}
				p.sleepUntil(40 * T)
				synctest.Wait()
				if got := p.timeoutTimes(); len(got) != 0 {
					t.Errorf("timeouts at %v, want none", got)
				}
			})
		})
	}
}

// After steady traffic, a peer silent for 2T or more is reported between 2T
// and 3T after its last octet: at the third tick counting the one that saw
// the last octet. A silence shorter than 2T is never reported.
func TestReceiverSilentAfterTrafficClosedBetween2TAnd3T(t *testing.T) {
	const T = 2 * time.Second
	for _, phase := range []time.Duration{T / 1000, T / 4, T / 2, T * 3 / 4, T * 999 / 1000} {
		t.Run(fmt.Sprint("phase ", phase), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeConn(t, T)
				last := 5*T + phase
				for at := T / 3; at <= last; at += T / 3 {
					p.sleepUntil(at)
					p.clientSend(heartbeatFrame)
				}
				p.sleepUntil(last)
				p.clientSend(heartbeatFrame)
				p.sleepUntil(last + 2*T - 1)
				synctest.Wait()
				if got := p.timeoutTimes(); len(got) != 0 {
					t.Fatalf("timeout at %v after the last octet at %v: less than 2T", got, last)
				}
				p.sleepUntil(last + 4*T)
				synctest.Wait()
				got := p.timeoutTimes()
				// The tick at 6T saw the last octet; 7T unchanged; 8T fires.
				want := 8 * T
				if !equalDurations(got, []time.Duration{want}) {
					t.Fatalf("timeouts at %v, want [%v]", got, want)
				}
				if d := got[0] - last; d < 2*T || d > 3*T {
					t.Errorf("reported %v after the last octet, want 2T..3T", d)
				}
			})
		})
	}
}

// Gaps between 2T and 3T trip or not depending on phase (RabbitMQ at T=2:
// every 4.5 s survived about 20 s, then tripped); gaps of 3T or more always
// trip, at most 3T after the last octet.
func TestReceiverGapPhases(t *testing.T) {
	const T = 2 * time.Second
	cases := []struct {
		gap, first time.Duration
		tripAt     time.Duration // 0: never within 30T
	}{
		// Octets at 0.1T+2.25T·k: 0.1, 2.35, 4.6, 6.85, 9.1 ... The tick at
		// 7T sees 6.85; 8T and 9T see nothing: reported at 9T.
		{gap: T * 9 / 4, first: T / 10, tripAt: 9 * T},
		// Octets at 0.2T+2.9T·k: the second, at 3.1T, comes after the 3T tick.
		{gap: T * 29 / 10, first: T / 5, tripAt: 3 * T},
		// Octets every 3T from 1.5T: tick 2T saw 1.5T, 3T, 4T fires before 4.5T.
		{gap: 3 * T, first: T * 3 / 2, tripAt: 4 * T},
		// Octets every 1.99T never trip.
		{gap: T * 199 / 100, first: T / 2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint("gap ", c.gap), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeConn(t, T)
				for at := c.first; at < 30*T; at += c.gap {
					p.sleepUntil(at)
					if len(p.timeoutTimes()) > 0 {
						break
					}
					p.clientSend([]byte{0})
				}
				p.sleepUntil(30 * T)
				synctest.Wait()
				got := p.timeoutTimes()
				var want []time.Duration
				if c.tripAt != 0 {
					want = []time.Duration{c.tripAt}
				}
				if !equalDurations(got, want) {
					t.Errorf("timeouts at %v, want %v", got, want)
				}
			})
		})
	}
}

// RabbitMQ's stored recv_oct starts at 0, so the first check counts as
// activity only if the peer has sent something by then. At tune-ok it always
// has; a counter still at 0 is reported at 2T, as RabbitMQ would.
func TestReceiverCounterStillZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		var at []time.Duration
		start := time.Now()
		m := Start(Config{Interval: T, Counters: &c, SendHeartbeat: func() error { return nil },
			OnTimeout: func() { at = append(at, time.Since(start)) }})
		defer m.Stop()
		time.Sleep(5 * T)
		synctest.Wait()
		if !equalDurations(at, []time.Duration{2 * T}) {
			t.Errorf("timeouts at %v, want [2s]", at)
		}
	})
}

// A paused receiver never fires, however long the peer stays silent, while
// the sender goes on every T/2 (pause_monitor/1 pauses only the receiver).
func TestPausedReceiverNeverFires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		p := newPipeConn(t, T)
		p.sleepUntil(T / 4)
		p.mon.Pause()
		p.mon.Pause() // a second Pause changes nothing
		p.sleepUntil(1000*T + T/4)
		synctest.Wait()
		if got := p.timeoutTimes(); len(got) != 0 {
			t.Errorf("paused receiver fired at %v", got)
		}
		if got, want := len(p.heartbeats()), 2000; got != want {
			t.Errorf("%d heartbeats while paused, want %d", got, want)
		}
	})
}

// Pause just before the tick that would fire: the tick is skipped.
func TestPauseRightBeforeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		p := newPipeConn(t, T)
		p.sleepUntil(3*T - 1)
		p.mon.Pause()
		p.sleepUntil(20 * T)
		synctest.Wait()
		if got := p.timeoutTimes(); len(got) != 0 {
			t.Errorf("timeouts at %v, want none", got)
		}
	})
}

// Resume gives a fresh window, as resume_monitor/1 resets the state to {0, 0}:
// a peer that stays silent is reported exactly 3T after Resume, even though it
// had already been silent for longer than 3T before.
func TestResumeGivesFreshWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		p := newPipeConn(t, T)
		p.sleepUntil(T + T/3)
		p.mon.Pause()
		resumeAt := 10*T + T*7/10
		p.sleepUntil(resumeAt)
		p.mon.Resume()
		p.mon.Resume() // a second Resume changes nothing
		p.sleepUntil(resumeAt + 3*T - 1)
		synctest.Wait()
		if got := p.timeoutTimes(); len(got) != 0 {
			t.Fatalf("timeout at %v, less than 3T after Resume at %v", got, resumeAt)
		}
		p.sleepUntil(resumeAt + 10*T)
		synctest.Wait()
		if got, want := p.timeoutTimes(), []time.Duration{resumeAt + 3*T}; !equalDurations(got, want) {
			t.Errorf("timeouts at %v, want %v", got, want)
		}
	})
}

// Pause and Resume in quick succession, between two ticks, restart the
// window from the Resume.
func TestPauseResumeBetweenTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		p := newPipeConn(t, T)
		p.sleepUntil(2*T + T/2) // one unchanged check done; 3T would fire
		p.mon.Pause()
		p.mon.Resume()
		p.sleepUntil(10 * T)
		synctest.Wait()
		if got, want := p.timeoutTimes(), []time.Duration{2*T + T/2 + 3*T}; !equalDurations(got, want) {
			t.Errorf("timeouts at %v, want %v", got, want)
		}
	})
}

// Resume on a monitor that was never paused does nothing: the window is not
// reset (RabbitMQ never sends resume without pause).
func TestResumeWithoutPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		p := newPipeConn(t, T)
		p.sleepUntil(2*T + T/2)
		p.mon.Resume()
		p.sleepUntil(10 * T)
		synctest.Wait()
		if got := p.timeoutTimes(); !equalDurations(got, []time.Duration{3 * T}) {
			t.Errorf("timeouts at %v, want [3s]", got)
		}
	})
}

// Pause at the very instant of the tick that would fire: whichever runs
// first, OnTimeout runs only if the tick claimed it before Pause took effect.
func TestPauseRacingTheFatalTick(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			const T = time.Second
			var c fakeCounters
			c.recv.Store(8)
			var fired atomic.Bool
			m := Start(Config{Interval: T, Counters: &c, SendHeartbeat: func() error { return nil },
				OnTimeout: func() { fired.Store(true) }})
			defer m.Stop()
			time.Sleep(3 * T)
			m.Pause()
			claimed := m.state.Load()&stateRecvFired != 0 // final once Pause has returned
			time.Sleep(10 * T)
			synctest.Wait()
			if fired.Load() != claimed {
				t.Fatalf("OnTimeout ran: %v; claimed before Pause: %v", fired.Load(), claimed)
			}
		})
	}
}

// Pause and Resume at the very instant of a receiver tick: a check released
// by the old timer just before the Resume is stale and must not run, or the
// fresh window would be a tick short (a timeout 2T after Resume instead of 3T).
func TestPauseResumeRacingATick(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			const T = time.Second
			var c fakeCounters
			c.recv.Store(8)
			var at atomic.Int64
			start := time.Now()
			m := Start(Config{Interval: T, Counters: &c, SendHeartbeat: func() error { return nil },
				OnTimeout: func() { at.Store(int64(time.Since(start))) }})
			defer m.Stop()
			time.Sleep(2 * T)
			m.Pause()
			m.Resume()
			time.Sleep(10 * T)
			synctest.Wait()
			if got := time.Duration(at.Load()); got != 5*T {
				t.Fatalf("timeout at %v, want 3T after the Resume at 2T = 5T", got)
			}
		})
	}
}
