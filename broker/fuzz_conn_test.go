package broker_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// FuzzConnection feeds arbitrary octets to a served connection after a valid
// handshake, the way nats-server fuzzes its client parser, and checks that
// the broker neither panics nor leaves a goroutine behind, that every octet
// it sends back is a valid frame stream, and that the connection ends with a
// reason.
//
// Each input runs in its own testing/synctest bubble: one broker, one
// connection served with Server.ServeConn over net.Pipe, so every protocol
// timer (heartbeats, the 3-second silent close, the closing timeout, the
// handshake timeout) fires on fake time and an iteration takes microseconds
// of real time whatever it does. synctest.Test fails if a goroutine of the
// bubble is still blocked when the iteration ends: a leaked connection
// goroutine, a drainer or a heartbeat timer that outlived Close is a failure.
//
// The client writes, in one write, the protocol header, start-ok as guest,
// tune-ok (frame_max fuzzFrameMax, channel_max fuzzChannelMax, heartbeat
// from the input), connection.open and channel.open 1, then data in writes
// of chunk octets (0: one write; each write reaches the broker's reads on its
// own, so chunk sets where reads split frames). alarm > 0 turns the resource
// alarm on before data and off alarm seconds later. Once data is written the
// client waits linger seconds and until the broker is idle, then closes its
// end. A reader goroutine reads everything the broker sends, from
// connection.start on; see checkStream for what it checks.
//
// Seeds: fuzzSeeds (normal traffic and classic bad input) and
// testdata/fuzz/FuzzConnection. Run it with
//
//	go test -run '^$' -fuzz '^FuzzConnection$' -fuzztime 10m ./broker/
//
// or make fuzz.
func FuzzConnection(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.heartbeat, s.chunk, s.linger, s.alarm, s.data)
	}
	f.Fuzz(func(t *testing.T, heartbeat uint8, chunk uint16, linger uint8, alarm uint8, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			runFuzzConn(t, heartbeat, chunk, linger, alarm, data)
		})
	})
}

// The limits the fuzzed broker proposes and the client accepts: small, so
// that inputs reach them.
const (
	fuzzFrameMax   = 4096
	fuzzChannelMax = 16
)

// runFuzzConn runs one input and returns what the broker sent, one entry a
// frame (connection.close with its code, text and ids).
func runFuzzConn(t *testing.T, heartbeat uint8, chunk uint16, linger, alarm uint8, data []byte) []string {
	srv, err := broker.New(broker.Config{
		FrameMax:      fuzzFrameMax,
		ChannelMax:    fuzzChannelMax,
		LoopbackUsers: []string{}, // a net.Pipe has no loopback address
		ClusterName:   "fuzz",     // spares os.Hostname per iteration
	})
	if err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	served := make(chan struct{})
	go func() {
		srv.ServeConn(server)
		close(served)
	}()
	read := make(chan error, 1)
	var sent []string // what the broker sent, for the failure message
	go func() { read <- checkStream(client, &sent) }()

	if _, err := client.Write(fuzzHandshake(uint16(heartbeat))); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	cleared := make(chan struct{})
	if alarm > 0 {
		srv.SetBlocked(true)
		go func() {
			time.Sleep(time.Duration(alarm) * time.Second)
			srv.SetBlocked(false)
			close(cleared)
		}()
	} else {
		close(cleared)
	}
	for rest := data; len(rest) > 0; {
		n := len(rest)
		if chunk > 0 {
			n = min(n, int(chunk))
		}
		if _, err := client.Write(rest[:n]); err != nil {
			break // the broker has closed the connection
		}
		rest = rest[n:]
	}
	time.Sleep(time.Duration(linger) * time.Second)
	synctest.Wait()
	_ = client.Close()

	<-served
	<-cleared
	if err := <-read; err != nil {
		t.Errorf("%v\nthe broker sent: %s", err, strings.Join(sent, " "))
	}
	if testing.Verbose() {
		t.Logf("the broker sent: %s", strings.Join(sent, " "))
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if live := srv.Connections(); len(live) != 0 {
		t.Errorf("connections still open after ServeConn returned: %+v", live)
	}
	closed := srv.ClosedConnections()
	if len(closed) != 1 {
		t.Fatalf("%d ended connections, want 1", len(closed))
	}
	if in := closed[0]; in.Reason == broker.ReasonNone || in.State != broker.StateTerminated {
		t.Errorf("connection ended in state %v with reason %v", in.State, in.Reason)
	}
	return sent
}

// A published property list that does not decode is never relayed: the
// publisher's connection gets 501 FRAME_ERROR with class and method ids 0/0
// whatever flags it has, not only those the broker must decode (headers,
// delivery mode, expiration, user_id). The first case is the property list
// of the undecodable_properties_relayed corpus entry; the second is the
// same with flags that made the broker relay it before it checked every
// list.
func TestFuzzConnectionUndecodableProperties(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props []byte
	}{
		// 0x5A43, delivery mode among the flags.
		{"corpus entry", []byte("ZC100900008070")},
		// 0x4A43: a content-encoding of 49 octets with 11 left.
		{"flags not decoded", []byte("JC100900008070")},
		{"content-type cut short", []byte{0x80, 0, 3, 'a'}},
		{"octet after cluster-id", []byte{0x04, 0, 1, 'c', 'x'}},
		{"timestamp cut short", []byte{0, 0x40, 0, 0, 0, 0}},
		{"no flags word", []byte{}},
	} {
		props := tc.props
		t.Run(tc.name, func(t *testing.T) {
			data := cat(methodFrame(1, &amqp.QueueDeclare{Queue: "q"}),
				methodFrame(1, &amqp.BasicConsume{Queue: "q", NoAck: true}),
				methodFrame(1, &amqp.BasicPublish{RoutingKey: "q"}),
				brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, amqp.ClassBasic, 3, props)),
				brokertest.FrameBytes(frames.TypeBody, 1, []byte("2C1")))
			synctest.Test(t, func(t *testing.T) {
				sent := strings.Join(runFuzzConn(t, 0, 0, 0, 0, data), " ")
				want := fmt.Sprintf("0/connection.close(501 %q 0/0)", amqp.ValidProperties(props).(*amqp.Error).Text)
				if !strings.Contains(sent, want) || strings.Contains(sent, "basic.deliver") {
					t.Errorf("the broker sent: %s\nwant %s and no basic.deliver", sent, want)
				}
			})
		})
	}
}

// fuzzHandshake is what the client writes before the fuzzed octets.
func fuzzHandshake(heartbeat uint16) []byte {
	b := append([]byte(nil), frames.ProtocolHeader[:]...)
	b = append(b, methodFrame(0, &amqp.ConnectionStartOk{
		ClientProperties: amqp.Table{{Name: "capabilities", Value: amqp.Table{
			{Name: "connection.blocked", Value: true},
			{Name: "consumer_cancel_notify", Value: true},
			{Name: "authentication_failure_close", Value: true},
		}}},
		Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US",
	})...)
	b = append(b, methodFrame(0, &amqp.ConnectionTuneOk{ChannelMax: fuzzChannelMax, FrameMax: fuzzFrameMax, Heartbeat: heartbeat})...)
	b = append(b, methodFrame(0, &amqp.ConnectionOpen{VirtualHost: "/"})...)
	return append(b, methodFrame(1, &amqp.ChannelOpen{})...)
}

// checkStream reads everything the broker sends on c until the stream ends
// and returns the first thing wrong with it, reading on to the end so that
// the broker's writes never stall. It checks that:
//
//   - every frame is well formed (type 1, 2, 3 or 8, frame-end 0xCE, no
//     larger than the negotiated frame_max, heartbeats empty and on channel
//     0, content never on channel 0), as frames.Reader checks a client's;
//   - the handshake is answered in order: connection.start, tune, open-ok,
//     channel.open-ok on 1;
//   - every method decodes, is one a server sends, and connection methods
//     come on channel 0 only, the others on channels the broker opened;
//   - a method with content is followed on its channel by a content header
//     of its class whose properties decode (the broker checks every
//     published property list and closes the connection with 501 on one
//     that does not decode, so it never relays one; see the
//     undecodable_properties_relayed corpus entry), then non-empty body
//     frames that add up exactly to the declared size, with no other frame
//     on that channel in between;
//   - after the broker's channel.close on a channel, it sends at most
//     channel.close-ok there until it opens the channel again (the client's
//     close-ok is not seen here); after its
//     channel.close-ok, nothing; after its connection.close, only heartbeats
//     and connection.close-ok.
//
// The stream may end at a frame boundary or, when the broker resets the
// connection in the middle of a write, inside a frame.
func checkStream(c net.Conn, sent *[]string) error {
	rd := frames.NewReader(c)
	rd.SetFrameMax(fuzzFrameMax)
	var (
		bad       error
		handshake = []string{"connection.start", "connection.tune", "connection.open-ok", "channel.open-ok"}
		chans     = map[uint16]*chanCheck{}
		closing   bool // the broker sent connection.close
	)
	fail := func(format string, args ...any) {
		if bad == nil {
			bad = fmt.Errorf(format, args...)
		}
	}
	for n := 0; ; n++ {
		f, err := rd.ReadFrame()
		if err != nil {
			var fe *frames.Error
			switch {
			case errors.As(err, &fe):
				fail("frame %d: broker sent an invalid frame: %v", n, err)
				if !fe.Fatal {
					continue
				}
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.ErrClosedPipe):
			default:
				fail("frame %d: %v", n, err)
			}
			if len(handshake) > 0 {
				fail("stream ended before %s", handshake[0])
			}
			_, _ = io.Copy(io.Discard, c)
			return bad
		}
		switch f.Type {
		case frames.TypeHeartbeat:
			*sent = append(*sent, "heartbeat")
			continue
		case frames.TypeHeader, frames.TypeBody:
			*sent = append(*sent, fmt.Sprintf("%d/%d[%d]", f.Channel, f.Type, len(f.Payload)))
		}
		if bad != nil {
			continue
		}
		cc := chans[f.Channel]
		if cc == nil {
			cc = &chanCheck{}
			chans[f.Channel] = cc
		}
		if f.Type != frames.TypeMethod {
			if err := cc.content(f); err != nil {
				fail("frame %d (type %d, channel %d): %v", n, f.Type, f.Channel, err)
			}
			continue
		}
		m, err := amqp.ReadMethod(f.Payload)
		if err != nil {
			fail("frame %d (channel %d): method does not decode: %v (payload %q)", n, f.Channel, err, f.Payload)
			continue
		}
		name := m.Name()
		if c, ok := m.(*amqp.ConnectionClose); ok {
			*sent = append(*sent, fmt.Sprintf("%d/%s(%d %q %d/%d)", f.Channel, name, c.ReplyCode, c.ReplyText, c.ReplyClassID, c.ReplyMethodID))
		} else {
			*sent = append(*sent, fmt.Sprintf("%d/%s", f.Channel, name))
		}
		if len(handshake) > 0 {
			if name != handshake[0] || (f.Channel != 0) != (name == "channel.open-ok") {
				fail("frame %d: got %s on channel %d, want %s", n, name, f.Channel, handshake[0])
			}
			handshake = handshake[1:]
			if name == "channel.open-ok" {
				cc.state = chanOpen
			}
			continue
		}
		if closing && name != "connection.close-ok" {
			fail("frame %d: %s on channel %d after connection.close", n, name, f.Channel)
			continue
		}
		if err := cc.method(f.Channel, m); err != nil {
			fail("frame %d: %s on channel %d: %v", n, name, f.Channel, err)
		}
		closing = closing || name == "connection.close"
	}
}

// The states of a channel as the broker's frames show it.
const (
	chanNone    = iota // never opened, or closed with channel.close-ok
	chanOpen           // channel.open-ok sent
	chanClosing        // channel.close sent
)

// chanCheck follows what the broker sends on one channel.
type chanCheck struct {
	state  int
	header bool   // a method with content was sent, its header not yet
	class  uint16 // ... of this class
	left   uint64 // body octets still due
	inBody bool   // the header came, left octets to go
}

// serverMethods are the methods a server sends once the connection is open.
var serverMethods = map[string]bool{
	"connection.close": true, "connection.close-ok": true, "connection.blocked": true,
	"connection.unblocked": true, "connection.update-secret-ok": true,
	"channel.open-ok": true, "channel.flow": true, "channel.flow-ok": true,
	"channel.close": true, "channel.close-ok": true,
	"exchange.declare-ok": true, "exchange.delete-ok": true, "exchange.bind-ok": true, "exchange.unbind-ok": true,
	"queue.declare-ok": true, "queue.bind-ok": true, "queue.purge-ok": true, "queue.delete-ok": true, "queue.unbind-ok": true,
	"basic.qos-ok": true, "basic.consume-ok": true, "basic.cancel": true, "basic.cancel-ok": true,
	"basic.return": true, "basic.deliver": true, "basic.get-ok": true, "basic.get-empty": true,
	"basic.ack": true, "basic.nack": true, "basic.recover-ok": true,
	"confirm.select-ok": true, "tx.select-ok": true, "tx.commit-ok": true, "tx.rollback-ok": true,
}

func (cc *chanCheck) method(ch uint16, m amqp.Method) error {
	name := m.Name()
	switch {
	case !serverMethods[name]:
		return errors.New("not a method a server sends")
	case cc.header || cc.inBody:
		return errors.New("in the middle of a content")
	case ch == 0:
		if m.ClassID() != amqp.ClassConnection {
			return errors.New("not a connection method on channel 0")
		}
		return nil
	case m.ClassID() == amqp.ClassConnection:
		return errors.New("connection method on a channel")
	}
	switch cc.state {
	case chanNone:
		if name != "channel.open-ok" {
			return errors.New("channel not open")
		}
		cc.state = chanOpen
	case chanOpen:
		switch name {
		case "channel.open-ok":
			return errors.New("channel already open")
		case "channel.close":
			cc.state = chanClosing
		case "channel.close-ok":
			cc.state = chanNone
		}
	case chanClosing:
		// channel.open-ok: the client answered close-ok (unseen here) and
		// opened the channel again.
		switch name {
		case "channel.close-ok":
			cc.state = chanNone
		case "channel.open-ok":
			cc.state = chanOpen
		default:
			return errors.New("channel closing")
		}
	}
	if m.HasContent() {
		cc.header, cc.class = true, m.ClassID()
	}
	return nil
}

func (cc *chanCheck) content(f frames.Frame) error {
	switch {
	case f.Type == frames.TypeHeader && cc.header:
		class, size, props, err := amqp.SplitContentHeader(f.Payload)
		if err != nil {
			return err
		}
		if class != cc.class {
			return fmt.Errorf("content header of class %d after a method of class %d", class, cc.class)
		}
		if _, err := amqp.DecodeProperties(props); err != nil {
			return fmt.Errorf("properties do not decode: %v", err)
		}
		cc.header, cc.left, cc.inBody = false, size, size > 0
	case f.Type == frames.TypeBody && cc.inBody:
		if len(f.Payload) == 0 {
			return errors.New("empty body frame")
		}
		if uint64(len(f.Payload)) > cc.left {
			return fmt.Errorf("body frame of %d octets, %d due", len(f.Payload), cc.left)
		}
		cc.left -= uint64(len(f.Payload))
		cc.inBody = cc.left > 0
	default:
		return errors.New("content frame out of place")
	}
	return nil
}

// fuzzSeed is one input of FuzzConnection.
type fuzzSeed struct {
	name      string
	heartbeat uint8
	chunk     uint16
	linger    uint8
	alarm     uint8
	data      []byte
}

func methodFrame(ch uint16, m amqp.Method) []byte {
	return brokertest.FrameBytes(frames.TypeMethod, ch, amqp.AppendMethod(nil, m))
}

// publishFrames is basic.publish with its header and body, the body in
// frames of at most max octets.
func publishFrames(ch uint16, pub *amqp.BasicPublish, props *amqp.Properties, body []byte, max int) []byte {
	b := methodFrame(ch, pub)
	b = append(b, brokertest.FrameBytes(frames.TypeHeader, ch,
		amqp.AppendContentHeader(nil, amqp.ClassBasic, uint64(len(body)), amqp.AppendProperties(nil, props)))...)
	for len(body) > 0 {
		n := min(len(body), max)
		b = append(b, brokertest.FrameBytes(frames.TypeBody, ch, body[:n])...)
		body = body[n:]
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// fuzzSeeds are FuzzConnection's built-in seeds: the traffic of ordinary
// clients and the classic bad inputs. Channel 1 is open when data starts.
func fuzzSeeds() []fuzzSeed {
	heartbeat := brokertest.FrameBytes(frames.TypeHeartbeat, 0, nil)
	declare := methodFrame(1, &amqp.QueueDeclare{Queue: "q"})
	msg := func(key string, body string) []byte {
		return publishFrames(1, &amqp.BasicPublish{RoutingKey: key}, &amqp.Properties{ContentType: "text/plain", DeliveryMode: 2}, []byte(body), fuzzFrameMax-8)
	}
	big := make([]byte, 3*fuzzFrameMax)
	for i := range big {
		big[i] = byte(i)
	}
	closeConn := cat(methodFrame(0, &amqp.ConnectionClose{ReplyCode: 200, ReplyText: "bye"}))
	closeOK := methodFrame(0, &amqp.ConnectionCloseOk{})
	return []fuzzSeed{
		{name: "empty"},
		{name: "heartbeat", data: heartbeat},
		{name: "close", data: closeConn},
		{name: "close_close_ok", data: cat(closeConn, closeOK)},
		{name: "declare_publish_get_ack", data: cat(declare, msg("q", "hello"),
			methodFrame(1, &amqp.BasicGet{Queue: "q"}), methodFrame(1, &amqp.BasicAck{DeliveryTag: 1}), closeConn)},
		{name: "consume_publish_ack", heartbeat: 2, linger: 10, data: cat(declare,
			methodFrame(1, &amqp.BasicQos{PrefetchCount: 1}),
			methodFrame(1, &amqp.BasicConsume{Queue: "q", ConsumerTag: "c"}),
			msg("q", "one"), msg("q", "two"), methodFrame(1, &amqp.BasicAck{DeliveryTag: 1}),
			methodFrame(1, &amqp.BasicNack{DeliveryTag: 2, Requeue: true}),
			methodFrame(1, &amqp.BasicCancel{ConsumerTag: "c"}))},
		{name: "consume_big_body", chunk: 1000, data: cat(declare,
			methodFrame(1, &amqp.BasicConsume{Queue: "q", NoAck: true}),
			publishFrames(1, &amqp.BasicPublish{RoutingKey: "q"}, &amqp.Properties{}, big, 1000))},
		{name: "queue_delete_cancels_consumer", data: cat(declare,
			methodFrame(1, &amqp.BasicConsume{Queue: "q", ConsumerTag: "c"}), msg("q", "x"),
			methodFrame(1, &amqp.QueueDelete{Queue: "q"}))},
		{name: "confirm_mandatory_return", data: cat(methodFrame(1, &amqp.ConfirmSelect{}),
			publishFrames(1, &amqp.BasicPublish{RoutingKey: "nowhere", Mandatory: true}, &amqp.Properties{}, []byte("r"), 100),
			msg("", ""))},
		{name: "tx", data: cat(methodFrame(1, &amqp.TxSelect{}), declare, msg("q", "t"),
			methodFrame(1, &amqp.TxCommit{}), msg("q", "u"), methodFrame(1, &amqp.TxRollback{}))},
		{name: "exchanges", data: cat(
			methodFrame(1, &amqp.ExchangeDeclare{Exchange: "x", Type: "topic"}), declare,
			methodFrame(1, &amqp.QueueBind{Queue: "q", Exchange: "x", RoutingKey: "a.*"}),
			methodFrame(1, &amqp.ExchangeBind{Destination: "x", Source: "amq.fanout"}),
			publishFrames(1, &amqp.BasicPublish{Exchange: "amq.fanout"}, &amqp.Properties{}, []byte("f"), 100),
			methodFrame(1, &amqp.QueuePurge{Queue: "q"}),
			methodFrame(1, &amqp.QueueUnbind{Queue: "q", Exchange: "x", RoutingKey: "a.*"}),
			methodFrame(1, &amqp.ExchangeDelete{Exchange: "x"}))},
		{name: "recover_flow", data: cat(declare, msg("q", "r"), methodFrame(1, &amqp.BasicGet{Queue: "q"}),
			methodFrame(1, &amqp.BasicRecover{Requeue: true}), methodFrame(1, &amqp.ChannelFlow{Active: false}))},
		{name: "channel_close_reopen", data: cat(methodFrame(1, &amqp.ChannelClose{ReplyCode: 200}),
			methodFrame(1, &amqp.ChannelOpen{}), methodFrame(2, &amqp.ChannelOpen{}), declare)},
		{name: "channel_error_then_close_ok", data: cat(methodFrame(1, &amqp.QueueDeclare{Queue: "missing", Passive: true}),
			methodFrame(1, &amqp.ChannelCloseOk{}), methodFrame(1, &amqp.ChannelOpen{}))},
		{name: "publish_split_one_octet", chunk: 1, data: cat(declare, msg("q", "split"), heartbeat, msg("q", "again"))},
		{name: "alarm", alarm: 5, heartbeat: 1, data: cat(msg("q", "blocked"), heartbeat, msg("q", "still"))},
		{name: "bad_frame_end", data: append(methodFrame(1, &amqp.BasicQos{})[:19], 0)},
		{name: "frame_too_large", data: brokertest.FrameBytes(frames.TypeBody, 1, make([]byte, fuzzFrameMax))},
		{name: "unknown_method", data: brokertest.FrameBytes(frames.TypeMethod, 1, []byte{0xff, 0xff, 0xff, 0xff})},
		{name: "short_method", data: brokertest.FrameBytes(frames.TypeMethod, 1, []byte{0, 60})},
		{name: "unknown_frame_type", data: brokertest.FrameBytes(9, 0, []byte("x"))},
		{name: "body_longer_than_declared", data: cat(methodFrame(1, &amqp.BasicPublish{RoutingKey: "q"}),
			brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, amqp.ClassBasic, 2, []byte{0, 0})),
			brokertest.FrameBytes(frames.TypeBody, 1, []byte("abc")))},
		{name: "huge_declared_body", data: cat(methodFrame(1, &amqp.BasicPublish{RoutingKey: "q"}),
			brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, amqp.ClassBasic, 1<<62, []byte{0, 0})),
			brokertest.FrameBytes(frames.TypeBody, 1, []byte("abc")))},
		{name: "method_inside_content", data: cat(methodFrame(1, &amqp.BasicPublish{RoutingKey: "q"}), declare)},
		{name: "header_without_method", data: brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, amqp.ClassBasic, 0, []byte{0, 0}))},
		{name: "unopened_channel", data: methodFrame(2, &amqp.QueueDeclare{Queue: "q"})},
		{name: "channel_above_max", data: methodFrame(fuzzChannelMax+1, &amqp.ChannelOpen{})},
		{name: "channel_reopened", data: methodFrame(1, &amqp.ChannelOpen{})},
		{name: "content_on_channel_0", data: brokertest.FrameBytes(frames.TypeBody, 0, []byte("x"))},
		{name: "heartbeat_on_channel_1", data: brokertest.FrameBytes(frames.TypeHeartbeat, 1, nil)},
		{name: "start_ok_when_open", data: methodFrame(0, &amqp.ConnectionStartOk{Mechanism: "PLAIN"})},
		{name: "user_id_mismatch", data: publishFrames(1, &amqp.BasicPublish{RoutingKey: "q"}, &amqp.Properties{UserID: "bob"}, nil, 1)},
		{name: "immediate", data: publishFrames(1, &amqp.BasicPublish{RoutingKey: "q", Immediate: true}, &amqp.Properties{}, nil, 1)},
		{name: "truncated", linger: 60, data: methodFrame(1, &amqp.QueueDeclare{Queue: "q"})[:10]},
		{name: "silent_heartbeat_timeout", heartbeat: 1, linger: 10},
	}
}
