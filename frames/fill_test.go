package frames

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// readAllFilling reads like the broker's loop: Fill whenever nothing is
// buffered, then ReadFrame. Calls are bounded.
func readAllFilling(t *testing.T, r *Reader) []readResult {
	t.Helper()
	var out []readResult
	for range 1 << 20 {
		if r.Buffered() == 0 {
			if err := r.Fill(); err != nil {
				return append(out, readResult{err: err})
			}
			if r.Buffered() == 0 && r.fatal == nil {
				t.Fatal("Fill returned nil with nothing buffered")
			}
		}
		f, err := r.ReadFrame()
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, readResult{f, err})
		var fe *Error
		if err != nil && !(errors.As(err, &fe) && !fe.Fatal) {
			return out
		}
	}
	t.Fatal("readAllFilling: no end after 1<<20 frames")
	return nil
}

// Waiting in Fill before ReadFrame changes nothing in what is read, whatever
// the chunking of the stream.
func TestFillThenReadFrame(t *testing.T) {
	in := splitStream()
	ref := readAll(t, newTestReader(bytes.NewReader(in)))
	for _, sizes := range [][]int{{1}, {7}, {8}, {9}, {1, 7}, {3, 5, 8, 13}, {8, 2000, 1}, {4096, 1}, {127, 129}, {1 << 20}} {
		r := NewReader(&chunkReader{data: in, sizes: sizes})
		r.SetFrameMax(131072)
		sameResults(t, "fill", readAllFilling(t, r), ref)
	}
}

// At a frame boundary Fill returns the underlying reader's error: io.EOF for
// a stream that ends there.
func TestFillEOF(t *testing.T) {
	r := NewReader(bytes.NewReader(frameBytes(TypeHeartbeat, 0, nil)))
	if err := r.Fill(); err != nil || r.Buffered() != 8 {
		t.Fatalf("Fill = %v with %d buffered, want nil with 8", err, r.Buffered())
	}
	if err := r.Fill(); err != nil {
		t.Fatalf("Fill with data buffered = %v, want nil", err)
	}
	if f, err := r.ReadFrame(); err != nil || f.Type != TypeHeartbeat {
		t.Fatalf("ReadFrame = %v, %v", f, err)
	}
	if r.Buffered() != 0 {
		t.Fatalf("Buffered = %d after the only frame, want 0", r.Buffered())
	}
	if err := r.Fill(); err != io.EOF {
		t.Fatalf("Fill at the end = %v, want io.EOF", err)
	}
}

// A heartbeat read through Fill allocates nothing, as through ReadFrame alone.
func TestFillHeartbeatAllocs(t *testing.T) {
	hb := frameBytes(TypeHeartbeat, 0, nil)
	r := NewReader(&repeatReader{data: hb})
	allocs := testing.AllocsPerRun(1000, func() {
		if err := r.Fill(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per heartbeat, want 0", allocs)
	}
}

// BenchmarkFillReadHeartbeat is the idle connection's read path: wait in Fill,
// then take the heartbeat frame.
func BenchmarkFillReadHeartbeat(b *testing.B) {
	r := NewReader(oneFrameReader(frameBytes(TypeHeartbeat, 0, nil)))
	b.ReportAllocs()
	for b.Loop() {
		if r.Buffered() == 0 {
			if err := r.Fill(); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

// oneFrameReader returns its frame whole on every Read, as a socket does for
// a lone heartbeat.
type oneFrameReader []byte

func (f oneFrameReader) Read(p []byte) (int, error) { return copy(p, f), nil }
