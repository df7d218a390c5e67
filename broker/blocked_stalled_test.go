package broker_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// A blocked client that has also stopped reading its socket is alive: its
// host still answers the broker's window probes. The paused receiver, which
// watches the peer's TCP acknowledgements while the connection is blocked
// (heartbeat.Config.PeerAcks), must not take it for gone, however long the
// block and the closed window last. Here the client's window fills with
// deliveries it never reads, and the broker's own heartbeat writes stall too.
func TestBlockedPeerNotReadingStaysOpen(t *testing.T) {
	b := start(t, hbUnit)
	const T = 2 * hbUnit // the client's heartbeat: 2 units
	const n, size = 64, 64 << 10
	pc := dial(t, b, "filler")
	ch := channel(t, pc)
	declare(t, ch, "stalled", nil)
	body := bytes.Repeat([]byte("x"), size)
	for range n {
		publish(t, ch, "stalled", body)
	}
	_ = pc.Close()

	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("stalled", 2)
	openChannel(t, r, 1)
	r.SendMethod(1, &amqp.BasicConsume{Queue: "stalled"}) // consume-ok and deliveries: never read
	b.SetBlocked(true)
	r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "nowhere"})
	r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 5, []byte{0, 0}))
	if _, ok := b.WaitConn(time.Second, func(c broker.ConnInfo) bool { return c.ClientName == "stalled" && c.Blocked }); !ok {
		t.Fatal("not blocked")
	}
	// The broker's writes stall once the client's window and the broker's
	// send buffer are full: the octets sent stop growing short of the total.
	var sent uint64
	for i := 0; ; i++ {
		if i == 50 {
			t.Fatalf("the broker's writes to a client that reads nothing did not stall within %v (%d octets sent)", 50*T/4, sent)
		}
		time.Sleep(T / 4)
		info, _ := b.Conn("stalled")
		if info.SendOctets == sent && sent > 0 {
			break
		}
		sent = info.SendOctets
	}
	if sent >= n*size {
		t.Fatalf("%d octets sent to a client that reads nothing, all of the %d queued: its window never closed", sent, n*size)
	}
	time.Sleep(8 * T)
	info, _ := b.Conn("stalled")
	if info.State != broker.StateBlocked {
		t.Fatalf("after 8T blocked with a closed window, the connection is %v (reason %v), want still blocked", info.State, info.Reason)
	}
	noLog(t, b, "peer unreachable")
}
