package frames

import (
	"bytes"
	"testing"
)

// A connection with a backlog of small frames (the stream fills every read)
// doubles its read-ahead up to maxReadAhead and keeps it between frames; a
// frame_max smaller than that caps it; a lone heartbeat afterwards gives it
// back.
func TestReadAheadGrowsWithBacklog(t *testing.T) {
	// 64 octets a message: frames end exactly where every buffer ends. 69: they
	// straddle every boundary.
	publish64 := concat(frameBytes(TypeMethod, 1, publishPayload), frameBytes(TypeHeader, 1, headerPayload),
		frameBytes(TypeBody, 1, bodyPayload))
	publish69 := concat(frameBytes(TypeMethod, 1, publishPayload), frameBytes(TypeHeader, 1, headerPayload),
		frameBytes(TypeBody, 1, []byte("0123456789abcdefghij!")))
	for _, c := range []struct {
		publish  []byte
		frameMax uint32
		want     int
	}{
		{publish64, 131072, maxReadAhead}, {publish64, 0, maxReadAhead}, {publish64, 4096, 4096 + FrameSizeFudge},
		{publish69, 131072, maxReadAhead}, {publish69, 0, maxReadAhead}, {publish69, 4096, 4096 + FrameSizeFudge},
	} {
		publish := c.publish
		backlog := bytes.Repeat(publish, 4*maxReadAhead/len(publish))
		r := NewReader(&arrivalReader{arrivals: [][]byte{backlog, frameBytes(TypeHeartbeat, 0, nil)}})
		r.SetFrameMax(c.frameMax)
		largest := 0
		for range 3 * len(backlog) / len(publish) {
			if _, err := r.ReadFrame(); err != nil {
				t.Fatal(err)
			}
			largest = max(largest, len(r.buf))
		}
		if largest != c.want {
			t.Errorf("frame_max %d: largest buffer %d octets, want %d", c.frameMax, largest, c.want)
		}
		if _, err := r.ReadFrame(); err != nil { // the heartbeat, after the backlog
			t.Fatal(err)
		}
		if _, err := r.ReadFrame(); err == nil {
			t.Fatal("a frame after the end")
		}
		if r.pooled != nil {
			t.Errorf("frame_max %d: buffer of %d octets kept after a lone heartbeat", c.frameMax, len(r.buf))
		}
	}
}

// BenchmarkReadPublishBacklog reads a publisher's backlog of 16-octet
// messages arriving in 64 KiB chunks, as from a busy socket.
func BenchmarkReadPublishBacklog(b *testing.B) {
	publish := concat(frameBytes(TypeMethod, 1, publishPayload), frameBytes(TypeHeader, 1, headerPayload),
		frameBytes(TypeBody, 1, bodyPayload))
	r := NewReader(&chunkRepeatReader{data: bytes.Repeat(publish, 1000), chunk: 64 << 10})
	r.SetFrameMax(131072)
	b.SetBytes(int64(len(publish)))
	b.ReportAllocs()
	for b.Loop() {
		for range 3 {
			if _, err := r.ReadFrame(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// chunkRepeatReader returns data over and over, at most chunk octets a Read,
// counting the Reads.
type chunkRepeatReader struct {
	data  []byte
	chunk int
	off   int
	reads int
}

func (c *chunkRepeatReader) Read(p []byte) (int, error) {
	c.reads++
	n := 0
	for n < len(p) && n < c.chunk {
		k := copy(p[n:min(len(p), c.chunk)], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
	}
	return n, nil
}
