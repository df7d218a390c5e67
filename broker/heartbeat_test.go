package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// hbUnit is the protocol second of the missed-heartbeat tests: T = 1 lasts
// 200 ms, so detection falls 400–600 ms after the last octet.
const hbUnit = 200 * time.Millisecond

// checkMissed checks the end of a connection dropped for missed heartbeats:
// RST or EOF with no connection.close, RabbitMQ's two error lines, the reason.
func checkMissed(t *testing.T, b *brokertest.Broker, r *brokertest.RawConn, name string, got []frames.Frame) {
	t.Helper()
	for _, f := range got {
		if f.Type != frames.TypeHeartbeat {
			t.Fatalf("broker sent frame type %d before dropping the connection", f.Type)
		}
	}
	id := connID(t, b, r)
	wantLog(t, b, fmt.Sprintf("[error] %s closing AMQP connection %s (%s - %s):", id, id, connName(b, r), name))
	wantLog(t, b, fmt.Sprintf("[error] %s missed heartbeats from client, timeout: 1s", id))
	if info := ended(t, b, id); info.Reason != broker.ReasonMissedHeartbeats {
		t.Fatalf("reason %v", info.Reason)
	}
}

// A client silent from tune-ok on is dropped 3T after tune-ok, with no
// connection.close (rabbitmq-observed.md §2).
func TestMissedHeartbeatsSilentClient(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	tune := r.Handshake("silent")
	sent := time.Now()
	r.Open(tune.ChannelMax, tune.FrameMax, 1)
	kind, at, got := r.WaitClosed(3 * time.Second)
	if kind == brokertest.NotClosed {
		t.Fatal("silent client still connected")
	}
	within(t, "dropped", at.Sub(sent), 28*hbUnit/10, 3*hbUnit)
	checkMissed(t, b, r, "silent", got)
}

// A client that goes silent some time after tune-ok is dropped between 2T
// and 3T after its last octet.
func TestMissedHeartbeatsAfterLastOctet(t *testing.T) {
	b := start(t, hbUnit)
	for _, delay := range []time.Duration{3 * hbUnit / 2, 17 * hbUnit / 10, 23 * hbUnit / 10} {
		t.Run(fmt.Sprint(delay), func(t *testing.T) {
			r := brokertest.DialRaw(t, b.Addr())
			tune := r.Handshake("last-octet")
			r.Open(tune.ChannelMax, tune.FrameMax, 1)
			time.Sleep(delay)
			r.SendHeartbeat()
			last := time.Now()
			kind, at, got := r.WaitClosed(3 * time.Second)
			if kind == brokertest.NotClosed {
				t.Fatal("silent client still connected")
			}
			within(t, "dropped after last octet", at.Sub(last), 2*hbUnit, 3*hbUnit)
			checkMissed(t, b, r, "last-octet", got)
		})
	}
}

// Detection applies before connection.open too (tune-ok with H=1, no open),
// ahead of the handshake timeout.
func TestMissedHeartbeatsBeforeOpen(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Handshake("no-open")
	sent := time.Now()
	r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 1})
	kind, at, got := r.WaitClosed(3 * time.Second)
	if kind == brokertest.NotClosed {
		t.Fatal("still connected")
	}
	within(t, "dropped", at.Sub(sent), 28*hbUnit/10, 3*hbUnit)
	checkMissed(t, b, r, "no-open", got)
}

// A client sending heartbeats every T/2 stays; the broker keeps sending its
// own every T/2 (it counts only its other output as activity).
func TestClientHeartbeatsKeepConnection(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("beating", 1)
	end := time.Now().Add(6 * hbUnit)
	for time.Now().Before(end) {
		time.Sleep(hbUnit / 2)
		r.SendHeartbeat()
	}
	if kind, _, got := r.WaitClosed(hbUnit / 4); kind != brokertest.NotClosed {
		t.Fatalf("connection dropped (%v) after %d frames", kind, len(got))
	}
	if n := len(r.Heartbeats); n < 8 {
		t.Fatalf("%d heartbeats from the broker in 6 T, want about 12", n)
	}
	noLog(t, b, "missed heartbeats")
}

// Any inbound octet counts, not only heartbeats: channel.flow every 0.9 T
// keeps the connection.
func TestAnyTrafficKeepsConnection(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("traffic", 1)
	openChannel(t, r, 1)
	end := time.Now().Add(6 * hbUnit)
	for time.Now().Before(end) {
		time.Sleep(9 * hbUnit / 10)
		r.SendMethod(1, &amqp.ChannelFlow{Active: true})
		brokertest.Expect[*amqp.ChannelFlowOk](r, time.Second)
	}
	noLog(t, b, "missed heartbeats")
}

// A client whose heartbeats come every 3 T is dropped 2 T after one of them.
func TestSlowClientHeartbeatsDropped(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("slow", 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(3 * hbUnit):
				_, _ = r.Conn.Write(brokertest.FrameBytes(frames.TypeHeartbeat, 0, nil))
			}
		}
	}()
	if kind, _, _ := r.WaitClosed(10 * hbUnit); kind == brokertest.NotClosed {
		t.Fatal("client beating every 3 T still connected")
	}
	id := connID(t, b, r)
	if info := ended(t, b, id); info.Reason != broker.ReasonMissedHeartbeats {
		t.Fatalf("reason %v", info.Reason)
	}
}
