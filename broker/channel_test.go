package broker_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// channel_max counts open channels (rabbit_reader:create_channel/2).
func TestChannelMax(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Handshake("max")
	r.Open(3, 131072, 0)
	for id := uint16(1); id <= 3; id++ {
		openChannel(t, r, id*10)
	}
	r.SendMethod(40, &amqp.ChannelOpen{})
	expectClose(t, r, amqp.NotAllowed, "NOT_ALLOWED - number of channels opened (3) has reached the negotiated channel_max (3)", 0, 0)
}

// A closed channel no longer counts; its number can be used again at once.
func TestChannelReuse(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Handshake("reuse")
	r.Open(1, 131072, 0)
	for range 3 {
		openChannel(t, r, 1)
		r.SendMethod(1, &amqp.ChannelClose{ReplyCode: 200, ReplyText: "bye"})
		brokertest.Expect[*amqp.ChannelCloseOk](r, time.Second)
	}
	openChannel(t, r, 2)
}

func TestChannelFlow(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("flow", 0)
	openChannel(t, r, 1)
	r.SendMethod(1, &amqp.ChannelFlow{Active: true})
	if ok := brokertest.Expect[*amqp.ChannelFlowOk](r, time.Second); !ok.Active {
		t.Fatal("flow-ok active=false")
	}
	r.SendMethod(1, &amqp.ChannelFlow{Active: false})
	expectClose(t, r, amqp.NotImplemented, "NOT_IMPLEMENTED - active=false", 20, 20)
	id := connID(t, b, r)
	wantLog(t, b, fmt.Sprintf(`[error] %s  operation channel.flow caused a connection exception not_implemented: "active=false"`, id))
}

func TestChannelOpenErrors(t *testing.T) {
	b := start(t, unit)
	cases := []struct {
		name              string
		script            func(r *brokertest.RawConn)
		code              uint16
		text              string
		classID, methodID uint16
	}{
		{"second open", func(r *brokertest.RawConn) {
			openChannel(t, r, 1)
			r.SendMethod(1, &amqp.ChannelOpen{})
		}, 504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10},
		{"method before open", func(r *brokertest.RawConn) {
			r.SendMethod(7, &amqp.ChannelFlow{Active: true})
		}, 504, "CHANNEL_ERROR - expected 'channel.open'", 20, 20},
		{"close-ok on an open channel", func(r *brokertest.RawConn) {
			openChannel(t, r, 1)
			r.SendMethod(1, &amqp.ChannelCloseOk{})
		}, 503, "COMMAND_INVALID - unimplemented method", 20, 41},
		{"undecodable method", func(r *brokertest.RawConn) {
			openChannel(t, r, 1)
			r.SendFrame(frames.TypeMethod, 1, []byte{0, 20, 0, 10, 5, 97, 98})
		}, 501, "FRAME_ERROR - cannot decode <<5,97,98>>", 20, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := brokertest.DialRaw(t, b.Addr())
			r.Connect("open-errors", 0)
			tc.script(r)
			expectClose(t, r, tc.code, tc.text, tc.classID, tc.methodID)
		})
	}
}

// A soft error closes only its channel; methods pipelined on it are ignored
// until close-ok; other channels carry on.
func TestChannelErrorClosesOnlyChannel(t *testing.T) {
	cfg := broker.DefaultConfig()
	cfg.MaxMessageSize = 1000
	b := start(t, unit, brokertest.WithConfig(cfg))
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("soft", 0)
	openChannel(t, r, 1)
	openChannel(t, r, 2)
	r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "q"})
	r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 2000, []byte{0, 0}))
	r.SendFrame(frames.TypeBody, 1, make([]byte, 1000))
	r.SendMethod(1, &amqp.ChannelFlow{Active: true}) // ignored: the channel is closing
	r.SendMethod(1, &amqp.ChannelOpen{})             // ignored too
	ch, m, err := r.ReadMethod(time.Second)
	cl, ok := m.(*amqp.ChannelClose)
	if err != nil || ch != 1 || !ok || cl.ReplyCode != 406 || cl.ReplyClassID != 60 || cl.ReplyMethodID != 40 ||
		cl.ReplyText != "PRECONDITION_FAILED - message size 2000 is larger than configured max size 1000" {
		t.Fatalf("got channel %d %+v, %v", ch, m, err)
	}
	r.SendMethod(2, &amqp.ChannelFlow{Active: true})
	ch, m, err = r.ReadMethod(time.Second)
	if _, ok := m.(*amqp.ChannelFlowOk); err != nil || ch != 2 || !ok {
		t.Fatalf("channel 2: got channel %d %+v, %v", ch, m, err)
	}
	r.SendMethod(1, &amqp.ChannelCloseOk{})
	openChannel(t, r, 1)
	id := connID(t, b, r)
	wantLog(t, b, fmt.Sprintf("[error] %s Channel error on connection %s (%s - soft, vhost: '/', user: 'guest'), channel 1:", id, id, connName(b, r)))
	wantLog(t, b, fmt.Sprintf("[error] %s operation basic.publish caused a channel exception precondition_failed: message size 2000 is larger than configured max size 1000", id))
}

// 80,000 channel open/close cycles on one connection, with amqp091-go.
func TestChannelChurn(t *testing.T) {
	b := start(t, unit)
	c, err := amqp091.Dial(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cycles := 80000
	if testing.Short() {
		cycles = 8000
	}
	for i := range cycles {
		ch, err := c.Channel()
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if err := ch.Close(); err != nil {
			t.Fatalf("cycle %d: close: %v", i, err)
		}
	}
	if conns := b.Connections(); len(conns) != 1 || conns[0].Channels != 0 {
		t.Fatalf("connections %+v", conns)
	}
}

// 256 channels open at once, used concurrently.
func TestConcurrentChannels(t *testing.T) {
	b := start(t, unit)
	c, err := amqp091.Dial(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 256
	chans := make([]*amqp091.Channel, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ch, err := c.Channel()
			if err != nil {
				errs <- err
				return
			}
			chans[i] = ch
			for range 10 {
				if err := ch.Flow(true); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if info := b.Connections(); len(info) != 1 || info[0].Channels != n {
		t.Fatalf("connections %+v", info)
	}
	for _, ch := range chans {
		if err := ch.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
