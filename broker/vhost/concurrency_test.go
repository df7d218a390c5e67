package vhost

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestUnsentLimit(t *testing.T) {
	v := New("/", Options{UnsentLimit: 3})
	defer v.Close()
	c := v.Connect()
	k := &sink{}
	s := c.NewSession(k)
	pub := c.NewSession(&sink{})
	_, err := pub.DeclareQueue(QueueSpec{Name: "q"})
	noErr(t, err)
	_, err = s.Consume(ConsumeSpec{Queue: "q", NoAck: true}, nil)
	noErr(t, err)
	for i := 0; i < 10; i++ {
		if _, err := pub.Publish("", "q", false, msg(t, "m")); err != nil {
			t.Fatal(err)
		}
	}
	if k.count() != 3 {
		t.Fatalf("%d deliveries past an unsent limit of 3", k.count())
	}
	s.Sent(2)
	if k.count() != 5 {
		t.Fatalf("%d deliveries after 2 were written", k.count())
	}
	s.Sent(5)
	if k.count() != 8 {
		t.Fatalf("%d deliveries", k.count())
	}
}

// TestConcurrentNothingLost runs publishers and consumers that ack, nack
// with requeue and close their connection at random, and checks that every
// message is acked exactly once per queue in the end (run with -race).
func TestConcurrentNothingLost(t *testing.T) {
	v := New("/", Options{})
	defer v.Close()
	admin := v.Connect().NewSession(&sink{})
	queues := []string{"q0", "q1"}
	for _, q := range queues {
		_, err := admin.DeclareQueue(QueueSpec{Name: q})
		noErr(t, err)
		noErr(t, admin.BindQueue(q, "amq.fanout", "", nil))
	}
	const publishers, perPublisher = 4, 500
	const total = publishers * perPublisher * 2 // fanout to two queues
	var (
		mu     sync.Mutex
		acked  = map[string]int{}
		nAcked int
	)
	// open starts a consumer connection; Deliver runs under model locks, so
	// the sink only queues into a channel of its own.
	open := func() (*Conn, *Session, chan Delivery) {
		in := make(chan Delivery, total)
		c := v.Connect()
		s := c.NewSession(&chanSink{ch: in})
		noErr(t, s.Qos(0, 20, false))
		for _, q := range queues {
			if _, err := s.Consume(ConsumeSpec{Queue: q}, nil); err != nil {
				t.Error(err)
			}
		}
		return c, s, in
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			c, s, in := open()
			defer func() { c.Close() }()
			for {
				select {
				case <-stop:
					return
				case d := <-in:
					switch x := r.IntN(100); {
					case x < 80:
						if err := s.Ack(d.DeliveryTag, false); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						acked[string(d.Message.Body)]++
						nAcked++
						mu.Unlock()
					case x < 95:
						if err := s.Nack(d.DeliveryTag, false, true); err != nil {
							t.Error(err)
							return
						}
					default:
						// Close with deliveries outstanding: they all come
						// back to their queues for the next consumers.
						c.Close()
						c, s, in = open()
					}
				}
			}
		}(uint64(w))
	}
	var pwg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		pwg.Add(1)
		go func(p int) {
			defer pwg.Done()
			s := v.Connect().NewSession(&sink{})
			for i := 0; i < perPublisher; i++ {
				body := make([]byte, 8)
				binary.BigEndian.PutUint32(body, uint32(p))
				binary.BigEndian.PutUint32(body[4:], uint32(i))
				m, _ := NewMessage("amq.fanout", "", noProps, body)
				if _, err := s.Publish("amq.fanout", "", false, m); err != nil {
					t.Error(err)
					return
				}
			}
		}(p)
	}
	pwg.Wait()
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := nAcked
		mu.Unlock()
		if n >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if nAcked != total || len(acked) != total/2 {
		t.Fatalf("%d acks of %d distinct messages, want %d of %d", nAcked, len(acked), total, total/2)
	}
	for k, n := range acked {
		if n != 2 {
			t.Fatalf("message %q acked %d times, want once per queue", k, n)
		}
	}
	for _, q := range v.Queues() {
		if q.Messages != 0 || q.Consumers != 0 {
			t.Fatalf("queue left with %+v", q)
		}
	}
}

type chanSink struct{ ch chan Delivery }

func (c *chanSink) Deliver(d Delivery)       { c.ch <- d }
func (c *chanSink) ConsumerCancelled(string) {}
