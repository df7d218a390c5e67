package heartbeat

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func withCoalesce(q time.Duration) func(*Config) {
	return func(c *Config) { c.Coalesce = q }
}

// startOffGrid sleeps until frac of a step past a grid point, so that a
// Monitor started now is off the grid.
func startOffGrid(q time.Duration, frac float64) {
	off := gridOffset(time.Now(), q)
	time.Sleep(q - off + time.Duration(frac*float64(q)))
}

// With Coalesce, the sender's first heartbeat comes at the grid point at or
// after T/2 (never early, less than q late), and every later one exactly T/2
// after the previous, on the grid.
func TestCoalesceSenderCadence(t *testing.T) {
	for _, T := range []time.Duration{time.Second, 2 * time.Second, 60 * time.Second} {
		t.Run(T.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := CoalesceFor(T)
				startOffGrid(q, 0.37)
				p := newPipeConn(t, T, withCoalesce(q))
				for k := 1; k <= 11; k++ {
					p.sleepUntil(time.Duration(k) * T * 9 / 10)
					p.clientSend(heartbeatFrame)
				}
				p.sleepUntil(10*T + T/4)
				synctest.Wait()
				got := p.heartbeats()
				if len(got) != 20 {
					t.Fatalf("%d heartbeats at %v, want 20", len(got), got)
				}
				if first := got[0]; first < T/2 || first >= T/2+q {
					t.Errorf("first heartbeat at %v, want in [%v, %v)", first, T/2, T/2+q)
				}
				if off := gridOffset(p.start.Add(got[0]), q); off != 0 {
					t.Errorf("first heartbeat %v off the grid", off)
				}
				for i := 1; i < len(got); i++ {
					if d := got[i] - got[i-1]; d != T/2 {
						t.Errorf("heartbeat %d came %v after the previous, want %v", i, d, T/2)
					}
				}
				if got := p.timeoutTimes(); len(got) != 0 {
					t.Errorf("timeouts at %v, want none", got)
				}
			})
		})
	}
}

// Monitors started at different moments within one grid step check at the
// same instants: that is what lets the process wake once for all of them.
func TestCoalesceAlignsMonitors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		q := CoalesceFor(T)
		startOffGrid(q, 0.1)
		a := newPipeConn(t, T, withCoalesce(q))
		time.Sleep(q / 2)
		b := newPipeConn(t, T, withCoalesce(q))
		for k := 1; k <= 5; k++ {
			a.sleepUntil(time.Duration(k) * T * 9 / 10)
			a.clientSend(heartbeatFrame)
			b.clientSend(heartbeatFrame)
		}
		a.sleepUntil(5*T - T/4)
		synctest.Wait()
		ha, hb := a.heartbeats(), b.heartbeats()
		if len(ha) != 9 || len(hb) != 9 {
			t.Fatalf("heartbeats %v and %v, want 9 each", ha, hb)
		}
		for i := range ha {
			if ta, tb := a.start.Add(ha[i]), b.start.Add(hb[i]); !ta.Equal(tb) {
				t.Errorf("heartbeat %d: %v apart, want together", i, tb.Sub(ta))
			}
		}
	})
}

// Detection keeps RabbitMQ's bounds with Coalesce: a peer silent from the
// start is reported 3T after start (less than q later, never earlier), and a
// peer silent after traffic between 2T and 3T after its last octet, whatever
// its phase against the checks.
func TestCoalesceDetectionBounds(t *testing.T) {
	const T = time.Second
	q := CoalesceFor(T)
	synctest.Test(t, func(t *testing.T) {
		startOffGrid(q, 0.61)
		p := newPipeConn(t, T, withCoalesce(q))
		p.sleepUntil(10 * T)
		synctest.Wait()
		got := p.timeoutTimes()
		if len(got) != 1 || got[0] < 3*T || got[0] >= 3*T+q {
			t.Errorf("silent peer: timeouts at %v, want one in [%v, %v)", got, 3*T, 3*T+q)
		}
	})
	for _, phase := range []time.Duration{0, 1, q / 2, T / 3, T / 2, T - q, T - 1} {
		synctest.Test(t, func(t *testing.T) {
			startOffGrid(q, 0.29)
			p := newPipeConn(t, T, withCoalesce(q))
			last := 3*T + phase
			for k := time.Duration(1); k*T/2 < last; k++ {
				p.sleepUntil(k * T / 2)
				p.clientSend(heartbeatFrame)
			}
			p.sleepUntil(last)
			p.clientSend(heartbeatFrame)
			p.sleepUntil(last + 5*T)
			synctest.Wait()
			got := p.timeoutTimes()
			if len(got) != 1 || got[0]-last < 2*T || got[0]-last > 3*T {
				t.Errorf("last octet at %v: timeouts at %v, want one %v to %v after it", last, got, 2*T, 3*T)
			}
		})
	}
}

// A check that runs late (SendHeartbeat blocked longer than a step) leaves
// the grid: the next comes at least a period after it ended, as RabbitMQ's
// timer restarts after the check, and then stays on the grid again.
func TestCoalesceLateCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		q := CoalesceFor(T)
		startOffGrid(q, 0.5)
		var c fakeCounters
		c.recv.Store(1)
		var sends []time.Time
		var block atomic.Bool
		block.Store(true)
		m := Start(Config{Interval: T, Counters: &c, Coalesce: q, SendHeartbeat: func() error {
			if block.Swap(false) {
				time.Sleep(5*q + q/3) // the first write waits for the socket
			}
			sends = append(sends, time.Now())
			c.sent.Add(8)
			c.recv.Add(1) // the peer keeps talking
			return nil
		}})
		defer m.Stop()
		time.Sleep(3 * T)
		synctest.Wait()
		if len(sends) < 4 {
			t.Fatalf("%d heartbeats, want at least 4", len(sends))
		}
		if d := sends[1].Sub(sends[0]); d < T/2 || d >= T/2+q {
			t.Errorf("after the late check: next %v later, want in [%v, %v)", d, T/2, T/2+q)
		}
		for i := 2; i < len(sends); i++ {
			if d := sends[i].Sub(sends[i-1]); d != T/2 {
				t.Errorf("heartbeat %d came %v after the previous, want %v", i, d, T/2)
			}
		}
		if off := gridOffset(sends[1], q); off != 0 {
			t.Errorf("back on the grid: offset %v, want 0", off)
		}
	})
}

// Without Coalesce nothing changes: CoalesceFor is only a default.
func TestCoalesceFor(t *testing.T) {
	for _, c := range []struct{ T, want time.Duration }{
		{100 * time.Millisecond, 400 * time.Microsecond},
		{time.Second, 4 * time.Millisecond},
		{60 * time.Second, 4 * time.Millisecond},
	} {
		if got := CoalesceFor(c.T); got != c.want {
			t.Errorf("CoalesceFor(%v) = %v, want %v", c.T, got, c.want)
		}
		if (c.T/2)%CoalesceFor(c.T) != 0 {
			t.Errorf("CoalesceFor(%v) does not divide T/2", c.T)
		}
	}
}
