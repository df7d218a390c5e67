package frames

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
)

// recordingWriter keeps what each Write call received.
type recordingWriter struct {
	writes [][]byte
	err    error // returned by every Write when set
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *recordingWriter) all() []byte { return bytes.Join(w.writes, nil) }

func TestWriterGolden(t *testing.T) {
	rec := &recordingWriter{}
	w := NewWriter(rec)
	if err := w.WriteFrame(TypeMethod, 1, channelOpen); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrames(
		Frame{TypeMethod, 1, publishPayload},
		Frame{TypeHeader, 1, headerPayload},
		Frame{TypeBody, 1, bodyPayload},
	); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(TypeBody, 0x1234, nil); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 0 {
		t.Fatalf("%d writes before Flush, want 0", len(rec.writes))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHeartbeat(); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		// channel.open on channel 1
		0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x0a, 0x00, 0xce,
		// basic.publish "" "q"
		0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x3c, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01, 'q', 0x00, 0xce,
		// content header, class 60, body size 16
		0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e,
		0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0xce,
		// body
		0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 0xce,
		// empty body on channel 0x1234
		0x03, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00, 0xce,
	}
	heartbeat := []byte{0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xce}
	if len(rec.writes) != 2 || !bytes.Equal(rec.writes[0], want) || !bytes.Equal(rec.writes[1], heartbeat) {
		t.Fatalf("writes:\n got %x\nwant [%x %x]", rec.writes, want, heartbeat)
	}
}

func TestWriterBufferLifecycle(t *testing.T) {
	rec := &recordingWriter{}
	w := NewWriter(rec)
	if w.pooled != nil || w.buf != nil {
		t.Fatal("a new Writer holds a buffer")
	}
	if err := w.WriteHeartbeat(); err != nil {
		t.Fatal(err)
	}
	if w.pooled != nil {
		t.Fatal("a heartbeat on an empty Writer took a buffer")
	}
	if err := w.WriteFrame(TypeMethod, 1, channelOpen); err != nil {
		t.Fatal(err)
	}
	if w.pooled == nil || len(w.buf) != len(channelOpen)+FrameSizeFudge {
		t.Fatalf("after WriteFrame: buffer %v, %d octets", w.pooled != nil, len(w.buf))
	}
	// A heartbeat goes after what is buffered, and flushes both.
	if err := w.WriteHeartbeat(); err != nil {
		t.Fatal(err)
	}
	if w.pooled != nil || w.buf != nil {
		t.Fatal("buffer kept after WriteHeartbeat flushed")
	}
	want := concat(frameBytes(TypeHeartbeat, 0, nil), frameBytes(TypeMethod, 1, channelOpen), frameBytes(TypeHeartbeat, 0, nil))
	if !bytes.Equal(rec.all(), want) {
		t.Fatalf("got %x, want %x", rec.all(), want)
	}
	if err := w.Flush(); err != nil || len(rec.writes) != 2 {
		t.Fatalf("Flush of an empty Writer: %v, %d writes", err, len(rec.writes))
	}
}

func TestWriterThreshold(t *testing.T) {
	rec := &recordingWriter{}
	w := NewWriter(rec)
	payload := make([]byte, 10000)
	var want []byte
	for i := range 20 {
		payload[0] = byte(i)
		if err := w.WriteFrame(TypeBody, 1, payload); err != nil {
			t.Fatal(err)
		}
		want = append(want, frameBytes(TypeBody, 1, payload)...)
		if len(w.buf) > flushThreshold {
			t.Fatalf("buffer at %d octets", len(w.buf))
		}
	}
	// A frame bigger than the threshold goes straight through, after what was buffered.
	big := bytes.Repeat([]byte("x"), 100000)
	if err := w.WriteFrame(TypeBody, 2, big); err != nil {
		t.Fatal(err)
	}
	want = append(want, frameBytes(TypeBody, 2, big)...)
	if w.pooled != nil {
		t.Fatal("buffer kept after a write-through")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.all(), want) {
		t.Fatal("stream differs from the frames written")
	}
	// Every buffered flush ends on a frame boundary.
	frame := len(payload) + FrameSizeFudge
	for i, b := range rec.writes[:len(rec.writes)-3] {
		if len(b)%frame != 0 || len(b) > flushThreshold {
			t.Fatalf("write %d: %d octets, not whole frames under the threshold", i, len(b))
		}
	}
}

func TestWriterStickyError(t *testing.T) {
	boom := errors.New("boom")
	rec := &recordingWriter{err: boom}
	w := NewWriter(rec)
	if err := w.WriteFrame(TypeMethod, 1, channelOpen); err != nil {
		t.Fatalf("buffered write failed: %v", err)
	}
	if err := w.Flush(); err != boom {
		t.Fatalf("Flush: %v, want boom", err)
	}
	rec.err = nil
	for name, f := range map[string]func() error{
		"WriteFrame":     func() error { return w.WriteFrame(TypeMethod, 1, channelOpen) },
		"WriteFrames":    func() error { return w.WriteFrames(Frame{Type: TypeBody, Channel: 1}) },
		"Flush":          w.Flush,
		"WriteHeartbeat": w.WriteHeartbeat,
	} {
		if err := f(); err != boom {
			t.Errorf("%s after a failed write: %v, want boom", name, err)
		}
	}
	if len(rec.writes) != 0 {
		t.Fatalf("%d writes after the error", len(rec.writes))
	}
	// A heartbeat failing on an empty Writer sticks too.
	w = NewWriter(&recordingWriter{err: boom})
	if err := w.WriteHeartbeat(); err != boom {
		t.Fatalf("WriteHeartbeat: %v", err)
	}
	if err := w.Flush(); err != boom {
		t.Fatalf("Flush after a failed heartbeat: %v", err)
	}
}

func TestWriterWriteThroughError(t *testing.T) {
	boom := errors.New("boom")
	w := NewWriter(&recordingWriter{err: boom})
	if err := w.WriteFrame(TypeBody, 1, make([]byte, flushThreshold)); err != boom {
		t.Fatalf("large frame: %v, want boom", err)
	}
	if err := w.WriteHeartbeat(); err != boom {
		t.Fatalf("after: %v, want boom", err)
	}
}

func TestWriteHeartbeatAllocs(t *testing.T) {
	w := NewWriter(io.Discard)
	if a := testing.AllocsPerRun(1000, func() { _ = w.WriteHeartbeat() }); a != 0 {
		t.Fatalf("WriteHeartbeat: %v allocations, want 0", a)
	}
}

// yieldingWriter hands the processor to other goroutines inside every Write, so that
// a Writer failing to hold its lock across a write would let frames interleave.
type yieldingWriter struct{ buf bytes.Buffer }

func (w *yieldingWriter) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		n := min(len(rest), 5)
		w.buf.Write(rest[:n])
		rest = rest[n:]
		runtime.Gosched()
	}
	return len(p), nil
}

// TestWriterConcurrent has several goroutines write frame sets, heartbeats and
// flushes at once (run it with -race), then reads the stream back: every set must
// arrive whole and in order, with nothing between its frames.
func TestWriterConcurrent(t *testing.T) {
	const writers, sets = 6, 150
	out := &yieldingWriter{}
	w := NewWriter(out)
	var wg sync.WaitGroup
	for id := range writers {
		wg.Go(func() {
			ch := uint16(id + 1)
			for seq := range sets {
				method := binary.BigEndian.AppendUint32(bytes.Clone(publishPayload), uint32(seq))
				body := bytes.Repeat([]byte{byte(id)}, 1+(seq*37)%300)
				// Now and then a set bigger than the flush threshold.
				if seq%50 == 49 {
					body = bytes.Repeat([]byte{byte(id)}, 70000)
				}
				if err := w.WriteFrames(
					Frame{TypeMethod, ch, method},
					Frame{TypeHeader, ch, headerPayload},
					Frame{TypeBody, ch, body},
				); err != nil {
					t.Error(err)
					return
				}
				switch seq % 3 {
				case 0:
					_ = w.Flush()
				case 1:
					_ = w.WriteHeartbeat()
				}
			}
		})
	}
	wg.Go(func() {
		for range 300 {
			if err := w.WriteHeartbeat(); err != nil {
				t.Error(err)
				return
			}
			runtime.Gosched()
		}
	})
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	r := NewReader(bytes.NewReader(out.buf.Bytes()))
	r.SetFrameMax(0)
	next := make([]int, writers+1)
	heartbeats := 0
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("stream corrupt: %v", err)
		}
		if f.Type == TypeHeartbeat {
			heartbeats++
			continue
		}
		if f.Type != TypeMethod {
			t.Fatalf("set starts with a frame of type %d on channel %d", f.Type, f.Channel)
		}
		ch := int(f.Channel)
		if ch < 1 || ch > writers {
			t.Fatalf("frame on channel %d", ch)
		}
		if seq := int(binary.BigEndian.Uint32(f.Payload[len(publishPayload):])); seq != next[ch] {
			t.Fatalf("channel %d: set %d, want %d", ch, seq, next[ch])
		}
		next[ch]++
		for _, typ := range []uint8{TypeHeader, TypeBody} {
			g, err := r.ReadFrame()
			if err != nil || g.Type != typ || int(g.Channel) != ch {
				t.Fatalf("channel %d set %d: got type %d channel %d (%v), want type %d: another frame came between", ch, next[ch]-1, g.Type, g.Channel, err, typ)
			}
			if typ == TypeBody && bytes.Count(g.Payload, []byte{byte(ch - 1)}) != len(g.Payload) {
				t.Fatalf("channel %d: body holds another writer's octets", ch)
			}
		}
	}
	for ch := 1; ch <= writers; ch++ {
		if next[ch] != sets {
			t.Fatalf("channel %d: %d sets read, want %d", ch, next[ch], sets)
		}
	}
	if want := 300 + writers*sets/3; heartbeats != want {
		t.Fatalf("%d heartbeats, want %d", heartbeats, want)
	}
}
