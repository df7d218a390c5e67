package frames

import (
	"io"
	"testing"
)

func benchmarkRead(b *testing.B, frames ...[]byte) {
	data := concat(frames...)
	r := NewReader(&repeatReader{data: data})
	r.SetFrameMax(131072)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for range frames {
			if _, err := r.ReadFrame(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkReadHeartbeat(b *testing.B) {
	benchmarkRead(b, frameBytes(TypeHeartbeat, 0, nil))
}

func BenchmarkReadPublish(b *testing.B) {
	benchmarkRead(b,
		frameBytes(TypeMethod, 1, publishPayload),
		frameBytes(TypeHeader, 1, headerPayload),
		frameBytes(TypeBody, 1, bodyPayload))
}

func BenchmarkReadDeliver(b *testing.B) {
	benchmarkRead(b,
		frameBytes(TypeMethod, 1, deliverPayload),
		frameBytes(TypeHeader, 1, headerPayload),
		frameBytes(TypeBody, 1, bodyPayload))
}

// BenchmarkReadHeartbeatAlone reads heartbeats that each arrive in a Read of their
// own, as on an idle connection.
func BenchmarkReadHeartbeatAlone(b *testing.B) {
	hb := frameBytes(TypeHeartbeat, 0, nil)
	src := &chunkReader{sizes: []int{len(hb)}}
	r := NewReader(src)
	b.ReportAllocs()
	b.SetBytes(int64(len(hb)))
	for b.Loop() {
		src.data = hb
		if _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteHeartbeat(b *testing.B) {
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	b.SetBytes(FrameSizeFudge)
	for b.Loop() {
		if err := w.WriteHeartbeat(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkWriteSet(b *testing.B, method []byte) {
	w := NewWriter(io.Discard)
	set := []Frame{
		{TypeMethod, 1, method},
		{TypeHeader, 1, headerPayload},
		{TypeBody, 1, bodyPayload},
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(method) + len(headerPayload) + len(bodyPayload) + 3*FrameSizeFudge))
	for b.Loop() {
		if err := w.WriteFrames(set...); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWritePublish writes and flushes a basic.publish, its content header and a
// 16-octet body.
func BenchmarkWritePublish(b *testing.B) { benchmarkWriteSet(b, publishPayload) }

// BenchmarkWriteDeliver writes and flushes a basic.deliver, its content header and a
// 16-octet body.
func BenchmarkWriteDeliver(b *testing.B) { benchmarkWriteSet(b, deliverPayload) }

// BenchmarkWriteDeliverBatch buffers 100 deliveries per flush, as a busy consumer
// connection does.
func BenchmarkWriteDeliverBatch(b *testing.B) {
	w := NewWriter(io.Discard)
	set := []Frame{
		{TypeMethod, 1, deliverPayload},
		{TypeHeader, 1, headerPayload},
		{TypeBody, 1, bodyPayload},
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := w.WriteFrames(set...); err != nil {
			b.Fatal(err)
		}
		if n++; n%100 == 0 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
