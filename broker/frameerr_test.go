package broker_test

import (
	"testing"

	"github.com/beatmq/beatmq/amqp"
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
