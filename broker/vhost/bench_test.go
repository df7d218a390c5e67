package vhost

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user + system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op: on a shared machine wall time per op depends on
// the other load, CPU time much less so.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// benchRoute routes key through exchange x the way Publish does.
func benchRoute(b *testing.B, v *VHost, x, key string, want int) {
	b.Helper()
	r := &router{}
	v.mu.RLock()
	ex := v.exchanges[x]
	v.mu.RUnlock()
	keys := []string{key}
	v.mu.RLock()
	v.routeLocked(r, ex, keys, nil)
	v.mu.RUnlock()
	if len(r.qs) != want {
		b.Fatalf("routed to %d queues, want %d", len(r.qs), want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		v.mu.RLock()
		v.routeLocked(r, ex, keys, nil)
		v.mu.RUnlock()
	}
	reportCPU(b, cpu)
}

func benchEnv(b *testing.B) (*VHost, *Session) {
	v := New("/", Options{})
	b.Cleanup(v.Close)
	return v, v.Connect().NewSession(&sink{})
}

func BenchmarkRouteDirect(b *testing.B) {
	v, s := benchEnv(b)
	for i := 0; i < 1000; i++ {
		q := fmt.Sprintf("q%d", i)
		s.DeclareQueue(QueueSpec{Name: q})
		s.BindQueue(q, "amq.direct", "key."+q, nil)
	}
	benchRoute(b, v, "amq.direct", "key.q500", 1)
}

func BenchmarkRouteDefault(b *testing.B) {
	v, s := benchEnv(b)
	s.DeclareQueue(QueueSpec{Name: "q"})
	benchRoute(b, v, "", "q", 1)
}

func BenchmarkRouteFanout10(b *testing.B) {
	v, s := benchEnv(b)
	for i := 0; i < 10; i++ {
		q := fmt.Sprintf("q%d", i)
		s.DeclareQueue(QueueSpec{Name: q})
		s.BindQueue(q, "amq.fanout", "", nil)
	}
	benchRoute(b, v, "amq.fanout", "", 10)
}

// BenchmarkRouteTopic10k routes through a topic exchange with 10,000
// bindings (literal, "*" and "#" patterns over 1,000 queues).
func BenchmarkRouteTopic10k(b *testing.B) {
	v, s := benchEnv(b)
	for i := 0; i < 1000; i++ {
		s.DeclareQueue(QueueSpec{Name: fmt.Sprintf("q%d", i)})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		var key string
		switch i % 4 {
		case 0:
			key = fmt.Sprintf("stock.n%d.s%d", r.IntN(100), r.IntN(100))
		case 1:
			key = fmt.Sprintf("stock.*.s%d", r.IntN(100))
		case 2:
			key = fmt.Sprintf("stock.n%d.#", r.IntN(100))
		case 3:
			key = fmt.Sprintf("#.s%d.x%d", r.IntN(100), r.IntN(100))
		}
		s.BindQueue(fmt.Sprintf("q%d", i%1000), "amq.topic", key, nil)
	}
	r2 := &router{}
	v.mu.RLock()
	v.routeLocked(r2, v.exchanges["amq.topic"], []string{"stock.n42.s17"}, nil)
	n := len(r2.qs)
	v.mu.RUnlock()
	b.Logf("stock.n42.s17 matches %d queues", n)
	benchRoute(b, v, "amq.topic", "stock.n42.s17", n)
}

// countSink counts deliveries and remembers the last tag.
type countSink struct {
	n       int
	lastTag uint64
}

func (c *countSink) Deliver(d Delivery)       { c.n++; c.lastTag = d.DeliveryTag }
func (c *countSink) ConsumerCancelled(string) {}

// BenchmarkPublishConsumeAck is one message through the model with one
// consumer: publish (routed by the default exchange), delivery, ack.
func BenchmarkPublishConsumeAck(b *testing.B) {
	v := New("/", Options{})
	defer v.Close()
	conn := v.Connect()
	pub := conn.NewSession(&sink{})
	pub.DeclareQueue(QueueSpec{Name: "q"})
	k := &countSink{}
	sub := conn.NewSession(k)
	sub.Qos(0, 100, false)
	sub.Consume(ConsumeSpec{Queue: "q"}, nil)
	body := make([]byte, 16)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		m, _ := NewMessage("", "q", noProps, body)
		pub.Publish("", "q", false, m)
		if err := sub.Ack(k.lastTag, false); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
	if k.n != b.N {
		b.Fatalf("%d deliveries for %d publishes", k.n, b.N)
	}
}

// BenchmarkPublishConsumeNoAck is the same with a no-ack consumer.
func BenchmarkPublishConsumeNoAck(b *testing.B) {
	v := New("/", Options{})
	defer v.Close()
	conn := v.Connect()
	pub := conn.NewSession(&sink{})
	pub.DeclareQueue(QueueSpec{Name: "q"})
	k := &countSink{}
	sub := conn.NewSession(k)
	sub.Consume(ConsumeSpec{Queue: "q", NoAck: true}, nil)
	body := make([]byte, 16)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		m, _ := NewMessage("", "q", noProps, body)
		pub.Publish("", "q", false, m)
	}
	reportCPU(b, cpu)
	if k.n != b.N {
		b.Fatalf("%d deliveries for %d publishes", k.n, b.N)
	}
}

// BenchmarkEnqueueDequeue fills a queue with 1,000 messages and empties it
// with basic.get(no-ack): ns and allocations per message.
func BenchmarkEnqueueDequeue(b *testing.B) {
	v := New("/", Options{})
	defer v.Close()
	conn := v.Connect()
	k := &countSink{}
	s := conn.NewSession(k)
	s.DeclareQueue(QueueSpec{Name: "q"})
	m, _ := NewMessage("", "q", noProps, make([]byte, 16))
	const batch = 1000
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	for i := 0; i < b.N; i += batch {
		for j := 0; j < batch; j++ {
			s.Publish("", "q", false, m)
		}
		for j := 0; j < batch; j++ {
			if ok, _ := s.Get("q", true); !ok {
				b.Fatal("empty")
			}
		}
	}
}

// BenchmarkThroughput1P1C runs one publisher goroutine and one consumer
// goroutine (acking every 100 deliveries with multiple=true, prefetch 1000)
// on one queue, as a broker would, and reports messages per second.
func BenchmarkThroughput1P1C(b *testing.B) {
	v := New("/", Options{})
	defer v.Close()
	conn := v.Connect()
	pub := conn.NewSession(&sink{})
	pub.DeclareQueue(QueueSpec{Name: "q"})
	q := &queueSink{signal: make(chan struct{}, 1)}
	sub := conn.NewSession(q)
	sub.Qos(0, 1000, false)
	sub.Consume(ConsumeSpec{Queue: "q"}, nil)
	body := make([]byte, 16)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		got := 0
		var batch []Delivery
		for got < b.N {
			<-q.signal
			batch = q.take(batch[:0])
			for i, d := range batch {
				got++
				if got%100 == 0 || (i == len(batch)-1) {
					sub.Ack(d.DeliveryTag, true)
				}
			}
		}
	}()
	for i := 0; i < b.N; i++ {
		m, _ := NewMessage("", "q", noProps, body)
		pub.Publish("", "q", false, m)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	reportCPU(b, cpu)
}

// queueSink is a sink as a broker channel would write one: append under a
// mutex and signal the writer.
type queueSink struct {
	mu     sync.Mutex
	ds     []Delivery
	signal chan struct{}
}

func (q *queueSink) Deliver(d Delivery) {
	q.mu.Lock()
	q.ds = append(q.ds, d)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *queueSink) ConsumerCancelled(string) {}

func (q *queueSink) take(dst []Delivery) []Delivery {
	q.mu.Lock()
	dst = append(dst, q.ds...)
	clear(q.ds)
	q.ds = q.ds[:0]
	q.mu.Unlock()
	return dst
}
