package store

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPublishSync measures confirmed publishes: every publisher waits
// for its completion (fdatasync in SyncData mode) before the next, as a
// client with one outstanding confirm per channel. Parallelism is 64
// publishers per core, so group commit has company to batch.
func BenchmarkPublishSync(b *testing.B) {
	for _, mode := range []SyncMode{SyncData, SyncWrite} {
		for _, size := range []int{16, 4096} {
			b.Run(fmt.Sprintf("sync=%s/size=%d", mode, size), func(b *testing.B) {
				s, _, err := Open(b.TempDir(), Options{Sync: mode})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				data := make([]byte, size)
				var nextQueue atomic.Uint32
				b.SetParallelism(64)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				start := time.Now()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					q := nextQueue.Add(1)
					ch := make(chan error, 1)
					done := func(err error) { ch <- err }
					var id uint64
					for pb.Next() {
						id++
						if _, err := s.Publish(q, id, data, done); err != nil {
							b.Error(err)
							return
						}
						if err := <-ch; err != nil {
							b.Error(err)
							return
						}
						// Settle as a consumer would, so the log stays small.
						s.Ack(q, id)
					}
				})
				b.StopTimer()
				el := time.Since(start).Seconds()
				st := s.Stats()
				b.ReportMetric(float64(b.N)/el, "msgs/s")
				b.ReportMetric(float64(st.Fdatasyncs)/el, "fdatasync/s")
				b.ReportMetric(float64(b.N)/max(float64(st.Fdatasyncs), 1), "msgs/fdatasync")
				b.ReportMetric(float64(st.BytesWritten+st.SummaryBytes)/float64(b.N), "disk-B/msg")
			})
		}
	}
}

// BenchmarkRecover measures Open on a store holding live messages: one
// queue of 1,000,000 messages of 16 bytes, 1,000 queues of 1,000, and
// 50,000 messages of 4 KiB of which 90% were acked, each with segment
// summaries and with full scans. heap-MB is the live heap after recovery
// with the Recovered kept. The files are in the page cache (warm).
func BenchmarkRecover(b *testing.B) {
	cases := []struct {
		name        string
		queues, per int
		size        int
		ackPercent  int
	}{
		{"1x1000000x16B", 1, 1_000_000, 16, 0},
		{"1000x1000x16B", 1000, 1000, 16, 0},
		{"1x50000x4KiB-90pct-acked", 1, 50_000, 4096, 90},
	}
	for _, c := range cases {
		dir := b.TempDir()
		s, _, err := Open(dir, Options{Sync: SyncWrite, CompactBelow: -1})
		if err != nil {
			b.Fatal(err)
		}
		data := make([]byte, c.size)
		for q := range c.queues {
			for i := range c.per {
				if _, err := s.Publish(uint32(q), uint64(i+1), data, nil); err != nil {
					b.Fatal(err)
				}
				if i%100 < c.ackPercent {
					s.Ack(uint32(q), uint64(i+1))
				}
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		live := int64(c.queues * c.per * (100 - c.ackPercent) / 100)
		for _, summaries := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/summaries=%v", c.name, summaries), func(b *testing.B) {
				var heap uint64
				var rec *Recovered
				for range b.N {
					s, r, err := Open(dir, Options{Sync: SyncWrite, CompactBelow: -1, noSummaries: !summaries})
					if err != nil {
						b.Fatal(err)
					}
					// Read every message back, as the broker does at start.
					var read int64
					for _, rq := range r.Queues {
						if err := rq.Each(func(Message) error { read++; return nil }); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					rec = r
					if rec.Messages != live || read != live {
						b.Fatalf("recovered %d messages, read %d, want %d", rec.Messages, read, live)
					}
					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					heap = ms.HeapAlloc
					runtime.KeepAlive(rec)
					s.Close()
					rec = nil
					b.StartTimer()
				}
				b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
			})
		}
	}
}
