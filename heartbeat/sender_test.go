package heartbeat

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

var testIntervals = []time.Duration{100 * time.Millisecond, time.Second, 2 * time.Second, 60 * time.Second}

// An idle connection gets a heartbeat every T/2 exactly, the first T/2 after
// start (rabbit_heartbeat:start_heartbeat_sender/4). If the sender counted its
// own heartbeat as activity it would send only every other tick (the pre-3.7.9
// bug fixed by re-reading send_oct after the handler).
func TestSenderCadenceIdle(t *testing.T) {
	for _, T := range testIntervals {
		t.Run(T.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeConn(t, T)
				// The client talks every 0.9T so the receiver stays content.
				for k := 1; k <= 11; k++ {
					p.sleepUntil(time.Duration(k) * T * 9 / 10)
					p.clientSend(heartbeatFrame)
				}
				p.sleepUntil(10*T + T/4)
				synctest.Wait()
				if got, want := p.heartbeats(), multiples(T/2, 1, 20); !equalDurations(got, want) {
					t.Errorf("heartbeats at %v, want %v", got, want)
				}
				if got := p.timeoutTimes(); len(got) != 0 {
					t.Errorf("timeouts at %v, want none", got)
				}
			})
		})
	}
}

// No heartbeat goes out while other frames do, except the unconditional first
// one (heartbeater/3 clause "StatVal0 =:= 0 andalso send_oct"); once the
// frames stop, heartbeats resume on the next tick that sees send_oct unchanged.
func TestSenderQuietWhileFramesFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = 2 * time.Second
		p := newPipeConn(t, T)
		// A frame from the broker every 0.3T from 0.05T to 2.75T, and one
		// from the client every 0.9T to keep the receiver content.
		next := T * 9 / 10
		for k := 0; k < 10; k++ {
			at := T/20 + time.Duration(k)*T*3/10
			for next < at {
				p.sleepUntil(next)
				p.clientSend(heartbeatFrame)
				next += T * 9 / 10
			}
			p.sleepUntil(at)
			p.serverSend()
		}
		for ; next < 5*T; next += T * 9 / 10 {
			p.sleepUntil(next)
			p.clientSend(heartbeatFrame)
		}
		p.sleepUntil(5*T + T/4)
		synctest.Wait()
		// Ticks at 0.5T (first: always sends), 1T..3T (frames went out since
		// the previous tick: silent), then 3.5T, 4T, 4.5T, 5T (idle).
		want := append([]time.Duration{T / 2}, multiples(T/2, 7, 10)...)
		if got := p.heartbeats(); !equalDurations(got, want) {
			t.Errorf("heartbeats at %v, want %v", got, want)
		}
		if got := p.otherFrames(); got != 10 {
			t.Errorf("client got %d data frames, want 10", got)
		}
	})
}

// One frame sent just after a tick suppresses the next heartbeat only; the
// longest gap between outbound octets stays at most T (the reason for the
// `div 2` in start_heartbeat_sender/4).
func TestSenderSkipsOneTickAfterAFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		p := newPipeConn(t, T)
		p.sleepUntil(T + T/100) // just after the heartbeat at T
		p.serverSend()
		p.clientSend(heartbeatFrame)
		p.sleepUntil(2*T + T/4)
		synctest.Wait()
		want := []time.Duration{T / 2, T, 2 * T} // 1.5T skipped
		if got := p.heartbeats(); !equalDurations(got, want) {
			t.Errorf("heartbeats at %v, want %v", got, want)
		}
	})
}

// A failing SendHeartbeat is reported once through OnSendError and stops the
// sender; the receiver keeps watching (RabbitMQ's reader stops the connection
// on {heartbeat_send_error, Reason}, so nothing else is sent anyway).
func TestSenderErrorStopsSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		c.recv.Store(8)
		var sends int
		var gotErr []error
		timeouts := 0
		m := Start(Config{
			Interval:      T,
			Counters:      &c,
			SendHeartbeat: func() error { sends++; return errBroken },
			OnSendError:   func(err error) { gotErr = append(gotErr, err) },
			OnTimeout:     func() { timeouts++ },
		})
		defer m.Stop()
		time.Sleep(10 * T)
		synctest.Wait()
		if sends != 1 || len(gotErr) != 1 || gotErr[0] != errBroken {
			t.Errorf("SendHeartbeat called %d times, OnSendError got %v; want 1 and [%v]", sends, gotErr, errBroken)
		}
		if timeouts != 1 {
			t.Errorf("OnTimeout called %d times, want 1 (the receiver goes on)", timeouts)
		}
	})
}

// A real write error: the client has gone away.
func TestSenderErrorOnClosedPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		p := newPipeConn(t, T)
		p.sleepUntil(T / 4)
		p.client.Close()
		p.sleepUntil(2 * T)
		synctest.Wait()
		if errs := p.sendErrors(); len(errs) != 1 {
			t.Errorf("OnSendError got %v, want one error", errs)
		}
		if got := p.heartbeats(); len(got) != 0 {
			t.Errorf("heartbeats at %v, want none", got)
		}
	})
}

// The sender's ticks neither allocate nor drift: 10,000 idle ticks send
// 10,000 heartbeats, and the process allocates (almost) nothing meanwhile.
func TestNoAllocationsPerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		const ticks = 10000
		var c fakeCounters
		var sends int
		m := Start(Config{
			Interval: T,
			Counters: &c,
			SendHeartbeat: func() error {
				sends++
				c.sent.Add(8)
				c.recv.Add(1) // the peer answers
				return nil
			},
		})
		defer m.Stop()
		time.Sleep(T / 4)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		time.Sleep(ticks * T / 2)
		synctest.Wait()
		runtime.ReadMemStats(&after)
		allocs := after.Mallocs - before.Mallocs
		if sends != ticks {
			t.Errorf("%d heartbeats in %d ticks", sends, ticks)
		}
		// Leave room for the runtime's own sporadic allocations.
		if allocs > ticks/100 {
			t.Errorf("%d allocations for %d ticks", allocs, ticks)
		}
		t.Logf("%d allocations over %d sender and %d receiver ticks", allocs, ticks, ticks/2)
	})
}
