//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Priority queues and consumer priorities, the same expectations for
// beatmq and RabbitMQ 3.10.8 (BEATMQ_TARGET=rabbitmq), through amqp091-go.

// prioClient is one connection with a channel in confirm mode.
type prioClient struct {
	t    *testing.T
	conn *amqp.Connection
	ch   *amqp.Channel
}

func newPrioClient(t *testing.T) *prioClient {
	t.Helper()
	b := broker(t)
	conn, err := amqp.Dial("amqp://guest:guest@" + b.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	return &prioClient{t: t, conn: conn, ch: ch}
}

func (c *prioClient) channel() *amqp.Channel {
	c.t.Helper()
	ch, err := c.conn.Channel()
	if err != nil {
		c.t.Fatal(err)
	}
	return ch
}

// queue declares a fresh queue (deleted at the end) with args.
func (c *prioClient) queue(name string, args amqp.Table) string {
	c.t.Helper()
	_, _ = c.ch.QueueDelete(name, false, false, false)
	if _, err := c.ch.QueueDeclare(name, false, false, false, false, args); err != nil {
		c.t.Fatalf("declare %s: %v", name, err)
	}
	c.t.Cleanup(func() {
		if ch, err := c.conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(name, false, false, false)
		}
	})
	return name
}

// publish publishes body to queue with priority p (none when p < 0) and
// expiration exp, and waits for the confirm.
func (c *prioClient) publish(queue, body string, p int, exp string) {
	c.t.Helper()
	msg := amqp.Publishing{Body: []byte(body), Expiration: exp}
	if p >= 0 {
		msg.Priority = uint8(p)
	}
	dc, err := c.ch.PublishWithDeferredConfirmWithContext(context.Background(), "", queue, false, false, msg)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := dc.WaitContext(ctx); err != nil {
		c.t.Fatal(err)
	}
}

// drain takes every ready message of queue with basic.get (no-ack) and
// returns the bodies, "*" in front of redelivered ones.
func (c *prioClient) drain(queue string) string {
	c.t.Helper()
	var out []string
	for {
		d, ok, err := c.ch.Get(queue, true)
		if err != nil {
			c.t.Fatal(err)
		}
		if !ok {
			return strings.Join(out, ",")
		}
		s := string(d.Body)
		if d.Redelivered {
			s = "*" + s
		}
		out = append(out, s)
	}
}

// ready is the queue's message count (passive declare).
func (c *prioClient) ready(queue string) int {
	c.t.Helper()
	q, err := c.ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return q.Messages
}

func (c *prioClient) waitReady(queue string, n int) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.ready(queue) != n {
		if time.Now().After(deadline) {
			c.t.Fatalf("queue %s: %d messages, want %d", queue, c.ready(queue), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deadLetters declares exchange prio-dlx (fanout) bound to a queue, and
// returns the queue.
func (c *prioClient) deadLetters() string {
	c.t.Helper()
	if err := c.ch.ExchangeDeclare("prio-dlx", "fanout", false, true, false, false, nil); err != nil {
		c.t.Fatal(err)
	}
	q := c.queue("prio-dead", nil)
	if err := c.ch.QueueBind(q, "", "prio-dlx", false, nil); err != nil {
		c.t.Fatal(err)
	}
	return q
}

func TestPriorityOrderInterop(t *testing.T) {
	c := newPrioClient(t)
	q := c.queue("prio-order", amqp.Table{"x-max-priority": int32(10)})
	c.publish(q, "first", 3, "")
	c.publish(q, "second", 6, "")
	c.publish(q, "third", 3, "")
	if got := c.drain(q); got != "second,first,third" {
		t.Fatalf("got %s", got)
	}
	c.publish(q, "none", -1, "")
	c.publish(q, "zero", 0, "")
	c.publish(q, "above", 200, "")
	c.publish(q, "max", 10, "")
	if got := c.drain(q); got != "above,max,none,zero" {
		t.Fatalf("got %s", got)
	}
	q0 := c.queue("prio-zero", amqp.Table{"x-max-priority": int32(0)})
	c.publish(q0, "a", 1, "")
	c.publish(q0, "b", 9, "")
	if got := c.drain(q0); got != "a,b" {
		t.Fatalf("x-max-priority 0: got %s", got)
	}
}

// Requeued messages go back to their places among their priority, in
// their original order whatever the order of the nacks.
func TestPriorityRequeueInterop(t *testing.T) {
	c := newPrioClient(t)
	q := c.queue("prio-requeue", amqp.Table{"x-max-priority": int32(9)})
	for i, p := range []int{1, 5, 5, 1, 9, 5} {
		c.publish(q, fmt.Sprintf("m%d.p%d", i, p), p, "")
	}
	var ds []amqp.Delivery
	for range 4 {
		d, ok, err := c.ch.Get(q, false)
		if !ok || err != nil {
			t.Fatalf("get: %v %v", ok, err)
		}
		ds = append(ds, d)
	}
	c.publish(q, "m6.p5", 5, "")
	c.publish(q, "m7.p9", 9, "")
	for _, i := range []int{2, 3, 0} {
		if err := ds[i].Nack(false, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.drain(q); got != "*m4.p9,m7.p9,*m2.p5,*m5.p5,m6.p5,m0.p1,m3.p1" {
		t.Fatalf("got %s", got)
	}
	if err := ds[1].Ack(false); err != nil {
		t.Fatal(err)
	}
}

// x-max-length drop-head drops the head of the whole queue: the oldest
// message of the highest priority, even the one just published.
func TestPriorityMaxLengthInterop(t *testing.T) {
	c := newPrioClient(t)
	dead := c.deadLetters()
	q := c.queue("prio-maxlen", amqp.Table{"x-max-priority": int32(10), "x-max-length": int32(3), "x-dead-letter-exchange": "prio-dlx"})
	for _, m := range []struct {
		body string
		p    int
	}{{"a1", 1}, {"b5", 5}, {"c1", 1}, {"d0", 0}, {"e9", 9}} {
		c.publish(q, m.body, m.p, "")
	}
	c.waitReady(dead, 2)
	if got := c.drain(dead); got != "b5,e9" {
		t.Fatalf("dead-lettered %s", got)
	}
	if got := c.drain(q); got != "a1,c1,d0" {
		t.Fatalf("left %s", got)
	}
	qb := c.queue("prio-maxbytes", amqp.Table{"x-max-priority": int32(10), "x-max-length-bytes": int32(4)})
	c.publish(qb, "aa", 2, "")
	c.publish(qb, "bb", 0, "")
	c.publish(qb, "cc", 1, "")
	if got := c.drain(qb); got != "cc,bb" {
		t.Fatalf("x-max-length-bytes left %s", got)
	}
	qr := c.queue("prio-reject", amqp.Table{"x-max-priority": int32(10), "x-max-length": int32(2), "x-overflow": "reject-publish"})
	c.publish(qr, "a0", 0, "")
	c.publish(qr, "b0", 0, "")
	dc, err := c.ch.PublishWithDeferredConfirmWithContext(context.Background(), "", qr, false, false, amqp.Publishing{Priority: 9, Body: []byte("c9")})
	if err != nil {
		t.Fatal(err)
	}
	if dc.Wait() {
		t.Fatal("c9 confirmed by a full reject-publish queue")
	}
	if got := c.drain(qr); got != "a0,b0" {
		t.Fatalf("reject-publish left %s", got)
	}
}

// Only the head expires: an expired low-priority message waits behind a
// live higher one, then is dead-lettered when it becomes the head.
func TestPriorityTTLInterop(t *testing.T) {
	c := newPrioClient(t)
	dead := c.deadLetters()
	q := c.queue("prio-ttl", amqp.Table{"x-max-priority": int32(5), "x-dead-letter-exchange": "prio-dlx"})
	c.publish(q, "low", 1, "20")
	c.publish(q, "high", 5, "")
	time.Sleep(100 * time.Millisecond)
	if n := c.ready(q); n != 2 {
		t.Fatalf("%d ready, want 2 (low behind high)", n)
	}
	d, ok, err := c.ch.Get(q, true)
	if err != nil || !ok || string(d.Body) != "high" {
		t.Fatalf("get: %q %v %v", d.Body, ok, err)
	}
	c.waitReady(q, 0)
	c.waitReady(dead, 1)
	if got := c.drain(dead); got != "low" {
		t.Fatalf("dead-lettered %s", got)
	}
}

// A paged backlog over several priorities comes out in priority order.
func TestPriorityBacklogInterop(t *testing.T) {
	c := newPrioClient(t)
	q := c.queue("prio-backlog", amqp.Table{"x-max-priority": int32(4)})
	const n = 6000
	confirms := c.ch.NotifyPublish(make(chan amqp.Confirmation, n))
	for i := range n {
		err := c.ch.PublishWithContext(context.Background(), "", q, false, false,
			amqp.Publishing{Priority: uint8(i % 5), Body: fmt.Appendf(nil, "p%d.%04d", i%5, i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if cf := <-confirms; !cf.Ack {
			t.Fatal("nack")
		}
	}
	ch := c.channel()
	if err := ch.Qos(500, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume(q, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for p := 4; p >= 0; p-- {
		for k := p; k < n; k += 5 {
			select {
			case d := <-ds:
				if want := fmt.Sprintf("p%d.%04d", p, k); string(d.Body) != want {
					t.Fatalf("delivery %d: %q, want %q", i, d.Body, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d after 10 s", i, n)
			}
			i++
		}
	}
}

// The high-priority consumer gets what its prefetch allows, the low one
// the rest; after an ack the high one gets the next.
func TestConsumerPriorityInterop(t *testing.T) {
	c := newPrioClient(t)
	q := c.queue("prio-consumers", nil)
	hi, lo := c.channel(), c.channel()
	if err := hi.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := lo.Qos(100, 0, false); err != nil {
		t.Fatal(err)
	}
	hiDs, err := hi.Consume(q, "hi", false, false, false, false, amqp.Table{"x-priority": int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	loDs, err := lo.Consume(q, "lo", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		c.publish(q, fmt.Sprint(i), -1, "")
	}
	take := func(ds <-chan amqp.Delivery, n int) ([]string, amqp.Delivery) {
		var out []string
		var last amqp.Delivery
		for range n {
			select {
			case d := <-ds:
				out, last = append(out, string(d.Body)), d
			case <-time.After(5 * time.Second):
				t.Fatalf("got %v of %d", out, n)
			}
		}
		return out, last
	}
	h, lastHi := take(hiDs, 2)
	l, lastLo := take(loDs, 8)
	if strings.Join(h, ",") != "0,1" || strings.Join(l, ",") != "2,3,4,5,6,7,8,9" {
		t.Fatalf("hi %v lo %v", h, l)
	}
	if err := lastHi.Ack(true); err != nil {
		t.Fatal(err)
	}
	if _, err := hi.QueueDeclarePassive(q, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.publish(q, fmt.Sprint(10+i), -1, "")
	}
	h, _ = take(hiDs, 2)
	l, _ = take(loDs, 1)
	if strings.Join(h, ",") != "10,11" || strings.Join(l, ",") != "12" {
		t.Fatalf("after ack: hi %v lo %v", h, l)
	}
	_ = lastLo.Ack(true)
}

// Single active consumer: the first consumer is active whatever the
// priorities; when it goes, the waiting consumer of the highest priority
// (the first among equals) takes over.
func TestSingleActiveConsumerPriorityInterop(t *testing.T) {
	c := newPrioClient(t)
	q := c.queue("prio-sac", amqp.Table{"x-single-active-consumer": true})
	ch := c.channel()
	tags := map[string]<-chan amqp.Delivery{}
	for _, s := range []struct {
		tag string
		p   int32
	}{{"first", 0}, {"c1", 1}, {"c5a", 5}, {"c0", 0}, {"c5b", 5}} {
		ds, err := ch.Consume(q, s.tag, true, false, false, false, amqp.Table{"x-priority": s.p})
		if err != nil {
			t.Fatal(err)
		}
		tags[s.tag] = ds
	}
	for _, active := range []string{"first", "c5a", "c5b", "c1", "c0"} {
		c.publish(q, "to "+active, -1, "")
		select {
		case d := <-tags[active]:
			if string(d.Body) != "to "+active {
				t.Fatalf("%s got %q", active, d.Body)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got nothing", active)
		}
		if err := ch.Cancel(active, false); err != nil {
			t.Fatal(err)
		}
	}
}

// x-max-priority and x-priority values RabbitMQ refuses, with its texts.
func TestPriorityArgErrorsInterop(t *testing.T) {
	c := newPrioClient(t)
	for _, tc := range []struct {
		val  any
		text string
	}{
		{int32(256), "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'prio-bad' in vhost '/': {max_value_exceeded,256}"},
		{int32(-1), "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'prio-bad' in vhost '/': {value_negative,-1}"},
		{"ten", "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'prio-bad' in vhost '/': \"expected integer, got longstr\""},
		{1.5, "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'prio-bad' in vhost '/': \"expected integer, got double\""},
	} {
		ch := c.channel()
		_, err := ch.QueueDeclare("prio-bad", false, false, false, false, amqp.Table{"x-max-priority": tc.val})
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != 406 || ae.Reason != tc.text {
			t.Errorf("x-max-priority %v: %v\nwant 406 %s", tc.val, err, tc.text)
		}
	}
	q := c.queue("prio-cbad", nil)
	ch := c.channel()
	_, err := ch.Consume(q, "", false, false, false, false, amqp.Table{"x-priority": "high"})
	var ae *amqp.Error
	want := "PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'prio-cbad' in vhost '/': \"expected integer, got longstr\""
	if !errors.As(err, &ae) || ae.Code != 406 || ae.Reason != want {
		t.Errorf("x-priority \"high\": %v\nwant 406 %s", err, want)
	}
}
