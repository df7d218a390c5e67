package broker_test

import (
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// The resource alarm: a connection that publishes while it is on gets
// connection.blocked, is no longer read, and its missed-heartbeat detection
// pauses (the broker's own heartbeats continue); when the alarm clears it
// gets connection.unblocked and is read again.
func TestResourceAlarm(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("publisher", 1)
	openChannel(t, r, 1)
	openChannel(t, r, 2)
	idle := brokertest.DialRaw(t, b.Addr()) // does not publish: never blocked
	idle.Connect("idle", 0)

	b.SetBlocked(true)
	r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "q"})
	r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 5, []byte{0, 0}))
	if bl := brokertest.Expect[*amqp.ConnectionBlocked](r, time.Second); bl.Reason != "low on memory" {
		t.Fatalf("blocked reason %q", bl.Reason)
	}
	info, _ := b.Conn("publisher")
	if info.State != broker.StateBlocked || !info.Blocked {
		t.Fatalf("info %+v", info)
	}
	// Not read: this request stays unanswered while blocked.
	r.SendMethod(2, &amqp.ChannelFlow{Active: true})
	// 5 T of silence from the client: detection is paused, the broker's
	// heartbeats keep coming.
	r.Heartbeats = nil
	if kind, _, got := r.WaitClosed(5 * hbUnit); kind != brokertest.NotClosed {
		t.Fatalf("blocked connection closed (%v)", kind)
	} else {
		for _, f := range got {
			if f.Type != frames.TypeHeartbeat {
				t.Fatalf("frame type %d while blocked", f.Type)
			}
		}
	}
	if len(r.Heartbeats) < 5 {
		t.Fatalf("%d heartbeats in 5 T while blocked", len(r.Heartbeats))
	}
	idle.SendMethod(0, &amqp.ConnectionUpdateSecret{NewSecret: "x", Reason: "test"})
	brokertest.Expect[*amqp.ConnectionUpdateSecretOk](idle, time.Second) // still read

	b.SetBlocked(false)
	brokertest.Expect[*amqp.ConnectionUnblocked](r, time.Second)
	r.SendFrame(frames.TypeBody, 1, []byte("hello"))
	// The request read before the body is answered first.
	ch, m, err := r.ReadMethod(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*amqp.ChannelFlowOk); !ok || ch != 2 {
		t.Fatalf("got %s on %d after unblock, want the pending channel.flow-ok on 2", m.Name(), ch)
	}
	noLog(t, b, "missed heartbeats")
	logs := b.Logs().String()
	for _, want := range []string{"memory resource limit alarm set on node", "memory resource limit alarm cleared on node"} {
		if len(b.Logs().Lines(want)) == 0 {
			t.Fatalf("log lacks %q:\n%s", want, logs)
		}
	}
}

// A client without the connection.blocked capability is blocked silently.
func TestAlarmWithoutCapability(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.SendProtocolHeader()
	brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
	r.SendMethod(0, &amqp.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US",
		ClientProperties: amqp.Table{{Name: "connection_name", Value: "nocap"}}})
	tune := brokertest.Expect[*amqp.ConnectionTune](r, time.Second)
	r.Open(tune.ChannelMax, tune.FrameMax, 0)
	openChannel(t, r, 1)
	b.SetBlocked(true)
	r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "q"})
	r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 5, []byte{0, 0}))
	if _, ok := b.WaitConn(time.Second, func(c broker.ConnInfo) bool { return c.ClientName == "nocap" && c.Blocked }); !ok {
		t.Fatal("not blocked")
	}
	if kind, _, got := r.WaitClosed(3 * unit); kind != brokertest.NotClosed || len(got) != 0 {
		t.Fatalf("closed %v, %d frames", kind, len(got))
	}
	b.SetBlocked(false)
	if _, ok := b.WaitConn(time.Second, func(c broker.ConnInfo) bool { return c.ClientName == "nocap" && !c.Blocked }); !ok {
		t.Fatal("still blocked")
	}
}

// Shutdown reaches a blocked connection too.
func TestShutdownWhileBlocked(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("blocked-shutdown", 0)
	openChannel(t, r, 1)
	b.SetBlocked(true)
	r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "q"})
	r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 5, []byte{0, 0}))
	brokertest.Expect[*amqp.ConnectionBlocked](r, time.Second)
	go b.Close()
	expectClose(t, r, 320, "CONNECTION_FORCED - broker shutdown", 0, 0)
	r.SendMethod(0, &amqp.ConnectionCloseOk{})
	if kind, _, _ := r.WaitClosed(time.Second); kind == brokertest.NotClosed {
		t.Fatal("still connected")
	}
}
