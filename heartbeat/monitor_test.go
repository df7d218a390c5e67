package heartbeat

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// T = 0 starts nothing (no timer, no goroutine), sends nothing and never
// times out, and needs no Counters
// (rabbit_heartbeat:start_heartbeater(0, ...) -> {ok, none}); the methods of
// the inert Monitor do nothing.
func TestZeroIntervalStartsNothing(t *testing.T) {
	for _, T := range []time.Duration{0, -time.Second} {
		synctest.Test(t, func(t *testing.T) {
			before := runtime.NumGoroutine()
			called := false
			fail := func() { called = true }
			m := Start(Config{
				Interval:      T,
				SendHeartbeat: func() error { fail(); return nil },
				OnTimeout:     fail,
				OnSendError:   func(error) { fail() },
			})
			if n := runtime.NumGoroutine(); n != before || m.sendTimer != nil || m.recvTimer != nil {
				t.Errorf("Start(T=%v): %d goroutines (want %d), timers %v %v", T, n, before, m.sendTimer, m.recvTimer)
			}
			m.Pause()
			m.Resume()
			time.Sleep(time.Hour)
			synctest.Wait()
			m.Stop()
			m.Stop()
			if called {
				t.Errorf("T=%v: a callback ran", T)
			}
		})
	}
}

func TestStartWithoutCountersPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Start without Counters did not panic")
		}
	}()
	Start(Config{Interval: time.Second, SendHeartbeat: func() error { return nil }})
}

// Stop leaves nothing running (no heartbeat or check afterwards; goleak
// finds no goroutine left, in or out of a bubble), is idempotent and may be
// called from several goroutines at once.
func TestStopLeaksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPipeConn(t, time.Second)
		p.sleepUntil(2*time.Second + time.Second/4)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(p.mon.Stop)
		}
		wg.Wait()
		p.mon.Stop()
		n := len(p.heartbeats())
		p.sleepUntil(time.Hour)
		synctest.Wait()
		if got := len(p.heartbeats()); got != n || len(p.timeoutTimes()) != 0 {
			t.Errorf("after Stop: %d more heartbeats, timeouts %v", got-n, p.timeoutTimes())
		}
	})
	goleak.VerifyNone(t)

	// The same with real time: Start, let it tick, Stop, nothing left.
	var c fakeCounters
	c.recv.Store(1)
	m := Start(Config{Interval: 2 * time.Millisecond, Counters: &c,
		SendHeartbeat: func() error { c.sent.Add(8); c.recv.Add(1); return nil }})
	for i := 0; c.sentReads.Load() < 6; i++ {
		if i == 10000 {
			t.Fatal("the sender never ticked")
		}
		time.Sleep(time.Millisecond)
	}
	m.Stop()
	goleak.VerifyNone(t)
}

// OnTimeout and OnSendError may call Stop without deadlocking; Stop then
// waits for the other loop only.
func TestStopFromCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		c.recv.Store(8)
		mc := make(chan *Monitor, 1)
		stopped := make(chan struct{})
		m := Start(Config{Interval: T, Counters: &c,
			SendHeartbeat: func() error { c.sent.Add(8); return nil },
			OnTimeout:     func() { (<-mc).Stop(); close(stopped) }})
		mc <- m
		<-stopped // 3T
		m.Stop()
	})
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		mc := make(chan *Monitor, 1)
		stopped := make(chan struct{})
		m := Start(Config{Interval: T, Counters: &c,
			SendHeartbeat: func() error { return errBroken },
			OnSendError:   func(error) { (<-mc).Stop(); close(stopped) }})
		mc <- m
		<-stopped // T/2
		m.Stop()
	})
}

// gatedCounters blocks the receiver inside its n-th check until released, so
// a test can change the monitor's state in the middle of a check.
type gatedCounters struct {
	fakeCounters
	n       int64
	inCheck chan struct{}
	release chan struct{}
}

func (g *gatedCounters) Received() uint64 {
	if g.recvReads.Load() == g.n-1 {
		close(g.inCheck)
		<-g.release
	}
	return g.fakeCounters.Received()
}

// A Stop that begins while the receiver is in the check that would fire wins:
// the check's claim fails and OnTimeout never runs. A Pause waits for the
// check, which claims OnTimeout first.
func TestStopOrPauseDuringFatalCheck(t *testing.T) {
	for _, op := range []string{"Stop", "Pause"} {
		t.Run(op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const T = time.Second
				c := &gatedCounters{n: 3, inCheck: make(chan struct{}), release: make(chan struct{})}
				c.recv.Store(8)
				var fired atomic.Bool
				m := Start(Config{Interval: T, Counters: c,
					SendHeartbeat: func() error { return nil },
					OnTimeout:     func() { fired.Store(true) }})
				<-c.inCheck // 3T: the receiver is in its third check
				done := make(chan struct{})
				if op == "Stop" {
					go func() { m.Stop(); close(done) }()
					for i := 0; m.state.Load()&stateStopped == 0; i++ {
						if i == 1e6 {
							t.Fatal("Stop never began")
						}
						runtime.Gosched()
					}
				} else {
					go func() { m.Pause(); close(done) }()
				}
				close(c.release)
				<-done
				time.Sleep(10 * T)
				synctest.Wait()
				if want := op == "Pause"; fired.Load() != want {
					t.Errorf("%s during the fatal check: OnTimeout ran %v, want %v", op, fired.Load(), want)
				}
				m.Stop()
			})
		})
	}
}

// Stop waits for a SendHeartbeat in progress; closing the connection
// unblocks it. Here the client stops reading, so the heartbeat write blocks.
func TestStopAfterCloseUnblocksSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		c.recv.Store(8)
		block := make(chan struct{})
		var sendErr error
		m := Start(Config{Interval: T, Counters: &c,
			SendHeartbeat: func() error { <-block; return errBroken }, // a write to a full socket
			OnSendError:   func(err error) { sendErr = err }})
		time.Sleep(T)
		close(block) // the connection is closed: the write fails
		m.Stop()
		synctest.Wait()
		if sendErr != nil {
			t.Errorf("OnSendError(%v) after Stop began", sendErr)
		}
	})
}

// The receiver detects a silent peer while the sender is stuck on a full
// socket: the two loops are independent, as RabbitMQ's two processes are.
func TestReceiverFiresWhileSenderBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		c.recv.Store(8)
		block := make(chan struct{})
		var at time.Duration
		start := time.Now()
		m := Start(Config{Interval: T, Counters: &c,
			SendHeartbeat: func() error { <-block; return nil },
			OnTimeout:     func() { at = time.Since(start) }})
		time.Sleep(10 * T)
		synctest.Wait()
		if at != 3*T {
			t.Errorf("timeout at %v, want %v", at, 3*T)
		}
		close(block)
		m.Stop()
	})
}

// A Stop that comes while SendHeartbeat is under way leaves no timer armed:
// nothing runs after Stop has returned.
func TestStopDuringSendLeavesNothingArmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		c.recv.Store(8)
		inSend := make(chan struct{})
		release := make(chan struct{})
		m := Start(Config{Interval: T, Counters: &c,
			SendHeartbeat: func() error { close(inSend); <-release; return nil }})
		<-inSend // T/2
		go func() {
			for m.state.Load()&stateStopped == 0 {
				runtime.Gosched()
			}
			close(release)
		}()
		m.Stop()
		reads := c.sentReads.Load()
		time.Sleep(100 * T)
		synctest.Wait()
		if got := c.sentReads.Load(); got != reads {
			t.Errorf("the sender checked %d more times after Stop", got-reads)
		}
	})
}
