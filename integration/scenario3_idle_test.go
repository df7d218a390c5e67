//go:build integration

package integration

import (
	"fmt"
	"testing"
	"time"
)

const (
	idleHeartbeat = 1 // seconds
	idleSeconds   = 4 // how long each client stays idle
)

// TestIdle is scenario 3: with a 1 s heartbeat each client opens a channel and
// stays idle for 4 s (heartbeats only), then makes a round trip (a queue.declare)
// and closes cleanly. Both sides must keep the connection: the client reports no
// error, the broker answers after the idle period, and its log shows a clean
// close and no missed heartbeats.
func TestIdle(t *testing.T) {
	b := broker(t)
	for _, c := range clients {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			slot(t)
			var detail string
			cell(t, colIdle, c.Name, &detail)
			name := "interop-idle-" + c.Name
			s := run(t, c, scenarioArgs{Scenario: "idle", Port: b.Port(), Heartbeat: idleHeartbeat, Name: name, Seconds: idleSeconds}, 90*time.Second)
			open, err := s.WaitOpen(60 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Result(30 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			idleFor := res.TEnd - open.T
			detail = fmt.Sprintf("hb %s, up %.1fs", intp(open.Heartbeat), idleFor)
			if open.Heartbeat == nil || *open.Heartbeat != idleHeartbeat {
				t.Errorf("negotiated heartbeat %s, want %d", intp(open.Heartbeat), idleHeartbeat)
			}
			if res.Error != "" {
				t.Fatalf("the connection did not survive %ds of idleness: %s: %s%s", idleSeconds, res.ErrorType, res.Error, s.Stderr())
			}
			if res.Alive == nil || !*res.Alive || !res.Closed {
				t.Errorf("want alive after the idle period and closed cleanly: %s", res.Raw)
			}
			if idleFor < idleSeconds {
				t.Errorf("the program was connected for %.1fs, less than the %ds idle period", idleFor, idleSeconds)
			}
			cl, err := waitConnLog(b, connKey{Name: name}, []string{evAccepting, evClientName, evAuth, evCleanClose},
				[]string{evMissed, evUnexpected}, 5*time.Second)
			recordLog(c.Name, "idle", cl, err)
			if err != nil {
				t.Error(err)
			}
		})
	}
	if wantAmqpTools() {
		t.Run("amqp-tools", func(t *testing.T) {
			t.Parallel()
			slot(t)
			var detail string
			cell(t, colIdle, "amqp-tools", &detail)
			toolsIdle(t, b, &detail)
		})
	}
}

// toolsIdle: amqp-consume with a 1 s heartbeat waits on an empty queue (behind a
// relay, to find its connection) for 4 s; it must still be running, the broker
// must still list it with timeout 1, and a message published then must reach it,
// after which it exits cleanly.
func toolsIdle(t *testing.T, b target, detail *string) {
	queue := "interop-idle-amqp-tools"
	declareQueue(t, b.Port(), queue)
	r := newRelay(t, b.Addr(), 60*time.Second)
	p := startConsume(t, toolsURL(r.Port()), idleHeartbeat, queue, 1, 60*time.Second)
	st, ok := r.WaitFor(20*time.Second, func(s relayStats) bool { return s.Accepted })
	if !ok {
		t.Fatal("amqp-consume did not connect")
	}
	time.Sleep(idleSeconds * time.Second)
	if !p.Running() {
		_, stderr, err, _ := p.Wait(0)
		t.Fatalf("amqp-consume exited during the idle period: %v: %s", err, stderr)
	}
	bc, err := waitBrokerConn(t, b, 10*time.Second, func(c brokerConn) bool { return c.PeerPort == st.BrokerLocalPort })
	if err != nil {
		t.Fatalf("after %ds idle: %v", idleSeconds, err)
	}
	if bc.Timeout != idleHeartbeat {
		t.Errorf("the broker uses heartbeat %d, want %d", bc.Timeout, idleHeartbeat)
	}
	publishOne(t, b.Port(), queue, "after-idle")
	out, stderr, err, ok := p.Wait(20 * time.Second)
	switch {
	case !ok:
		t.Fatal("amqp-consume still running 20s after its message was published")
	case err != nil:
		t.Fatalf("amqp-consume: %v: %s", err, stderr)
	case out != "after-idle":
		t.Errorf("amqp-consume printed %q, want %q", out, "after-idle")
	}
	p.mu.Lock()
	up := p.endAt.Sub(st.AcceptedAt)
	p.mu.Unlock()
	*detail = fmt.Sprintf("hb -/%d, up %.1fs", bc.Timeout, up.Seconds())
	cl, err := waitConnLog(b, connKey{PeerPort: st.BrokerLocalPort}, []string{evAccepting, evAuth, evCleanClose},
		[]string{evMissed, evUnexpected}, 5*time.Second)
	recordLog("amqp-tools", "idle", cl, err)
	if err != nil {
		t.Error(err)
	}
}
