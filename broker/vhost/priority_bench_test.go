package vhost

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/beatmq/beatmq/amqp"
)

// priorityBenchCases are the queues the priority benchmarks compare: a
// plain queue, and a priority queue (x-max-priority 10) with messages of
// one priority or spread over ten.
var priorityBenchCases = []struct {
	name   string
	args   amqp.Table
	levels int
}{
	{"plain", nil, 1},
	{"priority-1-level", maxPriority(10), 1},
	{"priority-10-levels", maxPriority(10), 10},
}

// benchMessages makes messages of priorities 0..levels-1 (a plain queue
// ignores them).
func benchMessages(b *testing.B, levels int) []*Message {
	ms := make([]*Message, levels)
	for i := range ms {
		ms[i] = prioMsg(b, "0123456789abcdef", i)
	}
	return ms
}

// BenchmarkPriorityPublishGet publishes one message and takes it back
// with basic.get (no-ack): the cost per message with no backlog.
func BenchmarkPriorityPublishGet(b *testing.B) {
	for _, tc := range priorityBenchCases {
		b.Run(tc.name, func(b *testing.B) {
			_, s := benchEnv(b)
			s.sink = &countSink{}
			if _, err := s.DeclareQueue(QueueSpec{Name: "q", Args: tc.args}); err != nil {
				b.Fatal(err)
			}
			ms := benchMessages(b, tc.levels)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				s.Publish("", "q", false, ms[i%len(ms)])
				if ok, _ := s.Get("q", true); !ok {
					b.Fatal("empty")
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkPriorityBacklog publishes 1,000 messages, then takes them all
// with basic.get (no-ack): the cost per message through a backlog (in
// priority order for the priority queue).
func BenchmarkPriorityBacklog(b *testing.B) {
	for _, tc := range priorityBenchCases {
		b.Run(tc.name, func(b *testing.B) {
			_, s := benchEnv(b)
			s.sink = &countSink{}
			if _, err := s.DeclareQueue(QueueSpec{Name: "q", Args: tc.args}); err != nil {
				b.Fatal(err)
			}
			ms := benchMessages(b, tc.levels)
			const batch = 1000
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i += batch {
				for j := 0; j < batch; j++ {
					s.Publish("", "q", false, ms[j%len(ms)])
				}
				for j := 0; j < batch; j++ {
					if ok, _ := s.Get("q", true); !ok {
						b.Fatal("empty")
					}
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkIdleQueueMemory reports the heap an idle queue holds
// (B/queue): new, and after messages of ten priorities went through it.
func BenchmarkIdleQueueMemory(b *testing.B) {
	const n = 2000
	for _, tc := range []struct {
		name string
		args amqp.Table
		used bool
	}{
		{"plain-new", nil, false},
		{"priority-255-new", maxPriority(255), false},
		{"plain-used", nil, true},
		{"priority-255-used", maxPriority(255), true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ms := benchMessages(b, 10)
			for range b.N {
				v := New("/", Options{})
				s := v.Connect().NewSession(&countSink{})
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i := range n {
					name := fmt.Sprint("q", i)
					if _, err := s.DeclareQueue(QueueSpec{Name: name, Args: tc.args}); err != nil {
						b.Fatal(err)
					}
					if tc.used {
						for k := range 100 {
							s.Publish("", name, false, ms[k%10])
						}
						for range 100 {
							s.Get(name, true)
						}
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/queue")
				runtime.KeepAlive(s)
				v.Close()
			}
		})
	}
}
