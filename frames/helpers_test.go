package frames

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
)

// frameBytes encodes one frame by hand, independently of Writer.
func frameBytes(typ uint8, ch uint16, payload []byte) []byte {
	return appendFrameBytes(nil, typ, ch, payload, FrameEnd)
}

func appendFrameBytes(dst []byte, typ uint8, ch uint16, payload []byte, end byte) []byte {
	dst = append(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, ch)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, payload...)
	return append(dst, end)
}

func concat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// Payloads of a basic.publish (exchange "", routing key "q"), its content header
// (class 60, body size 16, no properties), a 16-octet body, and a basic.deliver of
// the same message (consumer tag "ctag-1", delivery tag 1).
var (
	publishPayload = []byte{0, 60, 0, 40, 0, 0, 0, 1, 'q', 0}
	headerPayload  = []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}
	bodyPayload    = []byte("0123456789abcdef")
	deliverPayload = concat([]byte{0, 60, 0, 60, 6}, []byte("ctag-1"),
		[]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 'q'})
	channelOpen = []byte{0, 20, 0, 10, 0}
)

// readResult is what one ReadFrame call gave, with the payload copied.
type readResult struct {
	f   Frame
	err error
}

// readAll reads frames until an error other than a non-fatal *Error; it returns
// every result, the final error included. Calls are bounded.
func readAll(t *testing.T, r *Reader) []readResult {
	t.Helper()
	var out []readResult
	for range 1 << 20 {
		f, err := r.ReadFrame()
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, readResult{f, err})
		var fe *Error
		if err != nil && !(errors.As(err, &fe) && !fe.Fatal) {
			return out
		}
	}
	t.Fatal("readAll: no end after 1<<20 frames")
	return nil
}

// chunkReader returns its data in chunks of the given sizes (cycling), one per Read.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, max(c.sizes[c.i%len(c.sizes)], 1))
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func sameResults(t *testing.T, what string, got, want []readResult) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d:\n got %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.f.Type != w.f.Type || g.f.Channel != w.f.Channel || !bytes.Equal(g.f.Payload, w.f.Payload) {
			t.Fatalf("%s: result %d = %v, want %v", what, i, g, w)
		}
		if !sameError(g.err, w.err) {
			t.Fatalf("%s: result %d = %v, want %v", what, i, g, w)
		}
	}
}

// String summarises a result without dumping large payloads.
func (r readResult) String() string {
	p := r.f.Payload
	if len(p) > 20 {
		p = p[:20]
	}
	return fmt.Sprintf("{type %d ch %d len %d %x err %v}", r.f.Type, r.f.Channel, len(r.f.Payload), p, r.err)
}

func sameError(a, b error) bool {
	var ea, eb *Error
	if errors.As(a, &ea) && errors.As(b, &eb) {
		return *ea == *eb
	}
	return a == b
}
