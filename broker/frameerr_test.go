package broker_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// frameEnd0 is a frame whose end octet is 0 instead of 0xCE.
func frameEnd0(typ uint8, ch uint16, payload []byte) []byte {
	b := brokertest.FrameBytes(typ, ch, payload)
	b[len(b)-1] = 0
	return b
}

// header returns a bare frame header announcing size octets.
func header(typ uint8, ch uint16, size uint32) []byte {
	return []byte{typ, byte(ch >> 8), byte(ch), byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}
}

// Bad inputs on an open connection (heartbeat 0), rabbitmq-observed.md §3:
// connection.close with class 0 and method 0; non-fatal errors close right
// after close-ok, fatal ones 3 s after the close whatever the client does.
func TestFrameErrors(t *testing.T) {
	b := start(t, unit)
	publish := brokertest.MethodPayload(&amqp.BasicPublish{RoutingKey: "q"})
	contentHeader := amqp.AppendContentHeader(nil, 60, 10000, []byte{0, 0})
	cases := []struct {
		name     string
		frameMax uint32
		input    [][]byte
		code     uint16
		text     string
		channel  uint16
		fatal    bool
	}{
		{"heartbeat on open channel 1", 131072, [][]byte{brokertest.FrameBytes(8, 1, nil)},
			505, "UNEXPECTED_FRAME - type 8, all octets = <<>>", 1, false},
		{"heartbeat on channel 5", 131072, [][]byte{brokertest.FrameBytes(8, 5, nil)},
			505, "UNEXPECTED_FRAME - type 8, all octets = <<>>", 5, false},
		{"heartbeat with payload", 131072, [][]byte{brokertest.FrameBytes(8, 0, []byte("abcd"))},
			501, `FRAME_ERROR - type 8, all octets = <<"abcd">>: unknown_frame`, 0, false},
		{"unknown frame type 7", 131072, [][]byte{brokertest.FrameBytes(7, 0, nil)},
			501, "FRAME_ERROR - type 7, all octets = <<>>: unknown_frame", 0, false},
		{"short method frame", 131072, [][]byte{brokertest.FrameBytes(1, 1, []byte{0, 20})},
			501, "FRAME_ERROR - type 1, all octets = <<0,20>>: unknown_frame", 1, false},
		{"heartbeat frame end 0", 131072, [][]byte{frameEnd0(8, 0, nil)},
			501, "FRAME_ERROR - type 8, all octets = <<>>: {invalid_frame_end_marker,0}", 0, true},
		{"channel.open frame end 0", 131072, [][]byte{frameEnd0(1, 2, []byte{0, 20, 0, 10, 0})},
			501, "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}", 2, true},
		{"body 4097 at frame_max 4096", 4096, [][]byte{brokertest.FrameBytes(1, 1, publish),
			brokertest.FrameBytes(2, 1, contentHeader), brokertest.FrameBytes(3, 1, make([]byte, 4097))},
			501, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}", 1, true},
		{"header announcing 1000000", 131072, [][]byte{header(8, 0, 1000000)},
			501, "FRAME_ERROR - type 8, all octets = <<>>: {frame_too_large,1000000,131064}", 0, true},
		{"method 5004 at frame_max 4096", 4096, [][]byte{brokertest.FrameBytes(1, 1, make([]byte, 5004))},
			501, "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,5004,4088}", 1, true},
	}
	for _, tc := range cases {
		for _, answer := range []bool{true, false} {
			if !tc.fatal && !answer {
				continue // covered by TestNonFatalErrorWithoutCloseOk
			}
			t.Run(fmt.Sprintf("%s/close-ok=%v", tc.name, answer), func(t *testing.T) {
				r := brokertest.DialRaw(t, b.Addr())
				tune := r.Handshake("bad")
				r.Open(tune.ChannelMax, tc.frameMax, 0)
				openChannel(t, r, 1)
				for _, in := range tc.input {
					r.Write(in)
				}
				sent := time.Now()
				expectClose(t, r, tc.code, tc.text, 0, 0)
				if answer {
					r.SendMethod(0, &amqp.ConnectionCloseOk{})
				}
				kind, at, _ := r.WaitClosed(2 * time.Second)
				if kind == brokertest.NotClosed {
					t.Fatal("still connected")
				}
				id := connID(t, b, r)
				name := connName(b, r) + " - bad"
				atom := map[uint16]string{501: "frame_error", 505: "unexpected_frame"}[tc.code]
				expl := tc.text[bytes.Index([]byte(tc.text), []byte(" - "))+3:]
				wantLog(t, b, fmt.Sprintf("[error] %s Error on AMQP connection %s (%s, vhost: '/', user: 'guest', state: running), channel %d:", id, id, name, tc.channel))
				wantLog(t, b, fmt.Sprintf("[error] %s  operation none caused a connection exception %s: %q", id, atom, expl))
				info := ended(t, b, id)
				if tc.fatal {
					within(t, "closed", at.Sub(sent), 3*unit, 3*unit)
					wantLog(t, b, fmt.Sprintf("[error] %s closing AMQP connection %s (%s):", id, id, name))
					wantLog(t, b, fmt.Sprintf("[error] %s fatal_frame_error", id))
					if info.Reason != broker.ReasonFrameError {
						t.Fatalf("reason %v", info.Reason)
					}
					return
				}
				within(t, "closed after close-ok", at.Sub(sent), 0, 50*time.Millisecond)
				wantLog(t, b, fmt.Sprintf("[info] %s closing AMQP connection %s (%s, vhost: '/', user: 'guest')", id, id, name))
				if info.Reason != broker.ReasonConnectionError || info.CloseCode != tc.code {
					t.Fatalf("reason %v code %d", info.Reason, info.CloseCode)
				}
			})
		}
	}
}

// Without close-ok the broker waits the closing timeout: 30 s when T is 0.
func TestNonFatalErrorWithoutCloseOk(t *testing.T) {
	const u = 20 * time.Millisecond
	b := start(t, u)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("no-close-ok", 0)
	r.SendFrame(frames.TypeHeartbeat, 1, nil)
	sent := time.Now()
	expectClose(t, r, 505, "UNEXPECTED_FRAME - type 8, all octets = <<>>", 0, 0)
	kind, at, _ := r.WaitClosed(3 * time.Second)
	if kind == brokertest.NotClosed {
		t.Fatal("still connected")
	}
	within(t, "closed", at.Sub(sent), 30*u, 30*u)
}

// Payloads up to frame_max are accepted: RabbitMQ's check is payload >
// frame_max, 8 octets beyond the spec's limit.
func TestFrameMaxSlack(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	tune := r.Handshake("slack")
	r.Open(tune.ChannelMax, 4096, 0)
	openChannel(t, r, 1)
	r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "q"})
	r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 100000, []byte{0, 0}))
	for _, n := range []int{4088, 4089, 4096} {
		r.SendFrame(frames.TypeBody, 1, make([]byte, n))
	}
	if kind, _, got := r.WaitClosed(3 * unit); kind != brokertest.NotClosed || len(got) != 0 {
		t.Fatalf("bodies at frame_max: closed %v, %d frames", kind, len(got))
	}
}

// Errors in the frame layer before tune-ok get no close: 3 s, then the socket.
func TestFrameErrorBeforeOpen(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.SendProtocolHeader()
	brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
	sent := time.Now()
	r.SendFrame(frames.TypeMethod, 0, make([]byte, 5000))
	kind, at, got := r.WaitClosed(2 * time.Second)
	if kind == brokertest.NotClosed || len(got) != 0 {
		t.Fatalf("closed %v with %d frames", kind, len(got))
	}
	within(t, "closed", at.Sub(sent), 3*unit, 3*unit)
	id := connID(t, b, r)
	wantLog(t, b, fmt.Sprintf(`[error] %s {handshake_error,starting,0,{amqp_error,frame_error,"type 1, all octets = <<>>: {frame_too_large,5000,4088}",none}}`, id))
}

// Content frames out of sequence: RabbitMQ's 505 texts
// (rabbit_command_assembler:process/2), against the content method.
func TestContentSequenceErrors(t *testing.T) {
	b := start(t, unit)
	publish := brokertest.FrameBytes(1, 1, brokertest.MethodPayload(&amqp.BasicPublish{RoutingKey: "q"}))
	hdr := func(class uint16, size uint64) []byte {
		return brokertest.FrameBytes(2, 1, amqp.AppendContentHeader(nil, class, size, []byte{0, 0}))
	}
	flow := brokertest.FrameBytes(1, 1, brokertest.MethodPayload(&amqp.ChannelFlow{Active: true}))
	body := func(n int) []byte { return brokertest.FrameBytes(3, 1, make([]byte, n)) }
	weighted := amqp.AppendContentHeader(nil, 60, 5, []byte{0, 0})
	weighted[3] = 1
	cases := []struct {
		name              string
		input             [][]byte
		code              uint16
		text              string
		classID, methodID uint16
	}{
		{"header without method", [][]byte{hdr(60, 5)}, 505,
			"UNEXPECTED_FRAME - expected method frame, got non method frame instead", 0, 0},
		{"body without method", [][]byte{body(5)}, 505,
			"UNEXPECTED_FRAME - expected method frame, got non method frame instead", 0, 0},
		{"method instead of header", [][]byte{publish, flow}, 505,
			"UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead", 60, 40},
		{"header of another class", [][]byte{publish, hdr(50, 5)}, 505,
			"UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead", 60, 40},
		{"header with a weight", [][]byte{publish, brokertest.FrameBytes(2, 1, weighted)}, 505,
			"UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead", 60, 40},
		{"method instead of body", [][]byte{publish, hdr(60, 5), flow}, 505,
			"UNEXPECTED_FRAME - expected content body, got non content body frame instead", 60, 40},
		{"body too long", [][]byte{publish, hdr(60, 5), body(6)}, 501,
			"FRAME_ERROR - content body frame exceeds remaining content size", 60, 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := brokertest.DialRaw(t, b.Addr())
			r.Connect("content", 0)
			openChannel(t, r, 1)
			for _, in := range tc.input {
				r.Write(in)
			}
			expectClose(t, r, tc.code, tc.text, tc.classID, tc.methodID)
		})
	}
}
