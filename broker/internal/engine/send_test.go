package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames"
)

// lockedBuffer is an io.Writer the frames.Writer writes to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func testConn(w io.Writer) *Conn {
	c := &Conn{}
	c.out.w = frames.NewWriter(w)
	return c
}

func (c *Conn) waitIdle() {
	for {
		c.sq.mu.Lock()
		busy := c.sq.busy
		c.sq.mu.Unlock()
		if !busy {
			c.sq.wg.Wait()
			return
		}
		c.sq.wg.Wait()
	}
}

type sentFrame struct {
	typ     uint8
	ch      uint16
	payload []byte
}

func readAll(t *testing.T, b []byte) []sentFrame {
	t.Helper()
	rd := frames.NewReader(bytes.NewReader(b))
	rd.SetFrameMax(0)
	var out []sentFrame
	for {
		f, err := rd.ReadFrame()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sentFrame{f.Type, f.Channel, append([]byte(nil), f.Payload...)})
	}
}

// Deliveries queued from many goroutines and replies sent directly keep each
// channel's order, and every message stays contiguous.
func TestSendQueueOrder(t *testing.T) {
	var buf lockedBuffer
	c := testConn(&buf)
	const producers, perProducer = 4, 500
	chans := make([]*channel, producers+1)
	for i := range chans {
		chans[i] = &channel{c: c, id: uint16(i + 1), frameMax: 4096}
	}
	body := bytes.Repeat([]byte("x"), 5000) // two body frames at frame_max 4096
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				chans[p].queueDeliver(&amqp.BasicDeliver{ConsumerTag: "c", DeliveryTag: uint64(i + 1)}, []byte{0, 0}, body)
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			if err := chans[producers].sendMethod(&amqp.BasicQosOk{}); err != nil {
				t.Errorf("send %d: %v", i, err)
			}
		}
	})
	wg.Wait()
	c.waitIdle()
	_ = c.out.w.Flush()

	got := readAll(t, buf.b.Bytes())
	next := map[uint16]uint64{}
	qosOk := 0
	for i := 0; i < len(got); i++ {
		f := got[i]
		if f.typ != frames.TypeMethod {
			t.Fatalf("frame %d: type %d outside a message", i, f.typ)
		}
		m, err := amqp.ReadMethod(f.payload)
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *amqp.BasicQosOk:
			qosOk++
		case *amqp.BasicDeliver:
			if next[f.ch]+1 != m.DeliveryTag {
				t.Fatalf("channel %d: tag %d after %d", f.ch, m.DeliveryTag, next[f.ch])
			}
			next[f.ch] = m.DeliveryTag
			h := got[i+1]
			if h.typ != frames.TypeHeader || h.ch != f.ch || binary.BigEndian.Uint64(h.payload[4:]) != 5000 {
				t.Fatalf("header %+v", h)
			}
			b1, b2 := got[i+2], got[i+3]
			if b1.typ != frames.TypeBody || b2.typ != frames.TypeBody || len(b1.payload) != 4088 || len(b2.payload) != 912 || b1.ch != f.ch || b2.ch != f.ch {
				t.Fatalf("bodies %d/%d %d/%d", b1.typ, len(b1.payload), b2.typ, len(b2.payload))
			}
			i += 3
		default:
			t.Fatalf("unexpected %s", m.Name())
		}
	}
	if qosOk != 200 {
		t.Fatalf("%d replies", qosOk)
	}
	for p := range producers {
		if next[uint16(p+1)] != perProducer {
			t.Fatalf("channel %d: %d deliveries", p+1, next[uint16(p+1)])
		}
	}
}

// After a channel's close frame nothing more is written on it.
func TestSendQueueStopsAfterClose(t *testing.T) {
	var buf lockedBuffer
	c := testConn(&buf)
	ch := &channel{c: c, id: 1}
	other := &channel{c: c, id: 2}
	c.sq.mu.Lock()
	c.sq.busy = true // hold the right to write so everything queues
	c.sq.mu.Unlock()
	ch.queueDeliver(&amqp.BasicDeliver{DeliveryTag: 1}, nil, []byte("a"))
	ch.c.sq.mu.Lock()
	ch.c.sq.items = append(ch.c.sq.items, sendItem{ch: ch, kind: sendClose, m: &amqp.ChannelClose{ReplyCode: 406}})
	ch.c.sq.mu.Unlock()
	ch.queueDeliver(&amqp.BasicDeliver{DeliveryTag: 2}, nil, []byte("b"))
	other.queueDeliver(&amqp.BasicDeliver{DeliveryTag: 1}, nil, []byte("c"))
	c.sq.wg.Add(1)
	go c.drain()
	c.waitIdle()
	_ = c.out.w.Flush()
	var names []string
	for _, f := range readAll(t, buf.b.Bytes()) {
		if f.typ == frames.TypeMethod {
			m, _ := amqp.ReadMethod(f.payload)
			names = append(names, m.Name())
		}
	}
	want := []string{"basic.deliver", "channel.close", "basic.deliver"}
	if len(names) != len(want) {
		t.Fatalf("sent %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("sent %v, want %v", names, want)
		}
	}
	if err := ch.sendMethod(&amqp.BasicQosOk{}); !errors.Is(err, errChannelClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

// An empty body gets no body frame; a body of exactly frame_max-8 one frame.
func TestWriteContentFrames(t *testing.T) {
	for _, tc := range []struct {
		size, frameMax int
		want           []int
	}{{0, 4096, nil}, {4088, 4096, []int{4088}}, {4089, 4096, []int{4088, 1}}, {100000, 0, []int{100000}}} {
		var buf lockedBuffer
		w := frames.NewWriter(&buf)
		if err := writeContent(w, 3, uint32(tc.frameMax), &amqp.BasicDeliver{}, []byte{0, 0}, make([]byte, tc.size)); err != nil {
			t.Fatal(err)
		}
		_ = w.Flush()
		got := readAll(t, buf.b.Bytes())
		var sizes []int
		for _, f := range got[2:] {
			sizes = append(sizes, len(f.payload))
		}
		if len(sizes) != len(tc.want) {
			t.Fatalf("%d at %d: bodies %v, want %v", tc.size, tc.frameMax, sizes, tc.want)
		}
		for i := range sizes {
			if sizes[i] != tc.want[i] {
				t.Fatalf("%d at %d: bodies %v, want %v", tc.size, tc.frameMax, sizes, tc.want)
			}
		}
	}
}

// Writing a delivery allocates nothing in steady state.
func BenchmarkQueueDeliver(b *testing.B) {
	c := testConn(io.Discard)
	ch := &channel{c: c, id: 1, frameMax: 131072}
	body := make([]byte, 16)
	d := &amqp.BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 1, Exchange: "", RoutingKey: "q"}
	b.ReportAllocs()
	for b.Loop() {
		ch.queueDeliver(d, []byte{0, 0}, body)
	}
	c.waitIdle()
}

func BenchmarkSendMethod(b *testing.B) {
	c := testConn(io.Discard)
	ch := &channel{c: c, id: 1, frameMax: 131072}
	m := &amqp.BasicAck{DeliveryTag: 1}
	b.ReportAllocs()
	for b.Loop() {
		_ = ch.sendMethod(m)
	}
}
