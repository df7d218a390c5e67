package broker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// publishPrio publishes body to queue with priority p (and delivery mode
// mode) on a channel in confirm mode, and waits for the confirm.
func publishPrio(t *testing.T, ch *amqp091.Channel, queue, body string, p uint8, mode uint8) {
	t.Helper()
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", queue, false, false,
		amqp091.Publishing{Priority: p, DeliveryMode: mode, Body: []byte(body)})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ok, err := dc.WaitContext(ctx); !ok || err != nil {
		t.Fatalf("publish %s: confirm %v %v", body, ok, err)
	}
}

// confirmChannel opens a channel in confirm mode.
func confirmChannel(t *testing.T, c *amqp091.Connection) *amqp091.Channel {
	t.Helper()
	ch := channel(t, c)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	return ch
}

// receive takes n deliveries from ds, failing after 10 s.
func receive(t *testing.T, ds <-chan amqp091.Delivery, n int) []amqp091.Delivery {
	t.Helper()
	var out []amqp091.Delivery
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case d, ok := <-ds:
			if !ok {
				t.Fatalf("deliveries closed after %d of %d", len(out), n)
			}
			out = append(out, d)
		case <-timeout:
			t.Fatalf("%d of %d deliveries after 10 s", len(out), n)
		}
	}
	return out
}

func bodiesOf(ds []amqp091.Delivery) string {
	var b []string
	for _, d := range ds {
		s := string(d.Body)
		if d.Redelivered {
			s = "*" + s
		}
		b = append(b, s)
	}
	return strings.Join(b, ",")
}

// The example over a real socket, with basic.get and a consumer,
// and a requeue: the requeued message goes back to its place among its
// priority.
func TestPriorityQueueOrder(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "prio")
	ch := confirmChannel(t, c)
	declare(t, ch, "pq", amqp091.Table{"x-max-priority": int32(10)})
	for _, m := range []struct {
		body string
		p    uint8
	}{{"first", 3}, {"second", 6}, {"third", 3}} {
		publishPrio(t, ch, "pq", m.body, m.p, 0)
	}
	if got := strings.Join(drainBodies(t, ch, "pq"), ","); got != "second,first,third" {
		t.Fatalf("basic.get order %s", got)
	}

	for _, m := range []struct {
		body string
		p    uint8
	}{{"first", 3}, {"second", 6}, {"third", 3}, {"fourth", 0}, {"fifth", 200}} {
		publishPrio(t, ch, "pq", m.body, m.p, 0)
	}
	sub := channel(t, c)
	if err := sub.Qos(3, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := sub.Consume("pq", "c", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, ds, 3)
	if s := bodiesOf(got); s != "fifth,second,first" {
		t.Fatalf("consumer got %s", s)
	}
	// Requeue all three (multiple): they come back in their places,
	// first ahead of third (both priority 3).
	if err := got[2].Nack(true, true); err != nil {
		t.Fatal(err)
	}
	rest := receive(t, ds, 3)
	if err := rest[2].Ack(true); err != nil {
		t.Fatal(err)
	}
	rest = append(rest, receive(t, ds, 2)...)
	if s := bodiesOf(rest); s != "*fifth,*second,*first,third,fourth" {
		t.Fatalf("after requeue: %s", s)
	}
}

// More than a paging window of messages over several priorities: paged
// out, counted, and delivered in priority order.
func TestPriorityQueuePaging(t *testing.T) {
	const n = 6000
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "prio-paging")
	ch := channel(t, c)
	declare(t, ch, "pq", amqp091.Table{"x-max-priority": int32(4)})
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, n))
	for i := range n {
		err := ch.PublishWithContext(context.Background(), "", "pq", false, false,
			amqp091.Publishing{Priority: uint8(i % 5), Body: fmt.Appendf(nil, "p%d.%04d", i%5, i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if c := <-confirms; !c.Ack {
			t.Fatalf("confirm %d: nack", i)
		}
	}
	q := queueInfo(t, b, "pq")
	if q.Messages != n || q.MessagesPagedOut != n-2048 || q.MessageBytesPagedOut != int64(7*(n-2048)) {
		t.Fatalf("%d messages, %d paged out (%d bytes); want %d, %d", q.Messages, q.MessagesPagedOut, q.MessageBytesPagedOut, n, n-2048)
	}
	if err := ch.Qos(500, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume("pq", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, ds, n)
	i := 0
	for p := 4; p >= 0; p-- {
		for k := p; k < n; k += 5 {
			if want := fmt.Sprintf("p%d.%04d", p, k); string(got[i].Body) != want {
				t.Fatalf("delivery %d: %q, want %q", i, got[i].Body, want)
			}
			i++
		}
	}
	if q := queueInfo(t, b, "pq"); q.Messages != 0 || q.MessagesPagedOut != 0 {
		t.Fatalf("after draining: %+v", q)
	}
}

// Persistent messages of several priorities, more than a window of them,
// some delivered and not acked before the stop: after a restart they come
// back in the same order (priority, then publish order), the delivered
// ones marked redelivered in their places.
func TestPriorityQueueRestart(t *testing.T) {
	const n = 5000
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "before")
	ch := channel(t, c)
	declareDurable(t, ch, "pq", amqp091.Table{"x-max-priority": int32(9)})
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	prio := func(i int) uint8 { return uint8((i * 7) % 10) }
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, n))
	for i := range n {
		err := ch.PublishWithContext(context.Background(), "", "pq", false, false,
			amqp091.Publishing{Priority: prio(i), DeliveryMode: amqp091.Persistent, Body: fmt.Appendf(nil, "p%d.%04d", prio(i), i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if c := <-confirms; !c.Ack {
			t.Fatalf("confirm %d: nack", i)
		}
	}
	var want []string
	for p := 9; p >= 0; p-- {
		for i := range n {
			if int(prio(i)) == p {
				want = append(want, fmt.Sprintf("p%d.%04d", p, i))
			}
		}
	}
	// The first three (priority 9) go out unacked and stay so.
	for range 3 {
		if _, ok, err := ch.Get("pq", false); !ok || err != nil {
			t.Fatalf("get: %v %v", ok, err)
		}
	}
	_ = c.Close()
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	q := queueInfo(t, b, "pq")
	if q.Messages != n || q.MessagesPersistent != n || q.MessagesPagedOut < n-2048 {
		t.Fatalf("after restart: %d messages, %d persistent, %d paged out", q.Messages, q.MessagesPersistent, q.MessagesPagedOut)
	}
	ch = channel(t, dial(t, b, "after"))
	if err := ch.Qos(1000, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume("pq", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, ds, n)
	for i, d := range got {
		if string(d.Body) != want[i] || d.Redelivered != (i < 3) {
			t.Fatalf("delivery %d: %q redelivered %v, want %q", i, d.Body, d.Redelivered, want[i])
		}
	}
}

// x-max-length drop-head drops the head of the whole queue (the oldest of
// the highest priority) and dead-letters it; a message's TTL runs out at
// the head.
func TestPriorityQueueMaxLengthTTLDeadLetter(t *testing.T) {
	b := brokertest.Run(t)
	ch := confirmChannel(t, dial(t, b, "prio-dlx"))
	if err := ch.ExchangeDeclare("dlx", "fanout", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	declare(t, ch, "dead", nil)
	if err := ch.QueueBind("dead", "", "dlx", false, nil); err != nil {
		t.Fatal(err)
	}
	declare(t, ch, "pq", amqp091.Table{"x-max-priority": int32(10), "x-max-length": int32(3), "x-dead-letter-exchange": "dlx"})
	for _, m := range []struct {
		body string
		p    uint8
	}{{"a1", 1}, {"b5", 5}, {"c1", 1}, {"d0", 0}, {"e9", 9}} {
		publishPrio(t, ch, "pq", m.body, m.p, 0)
	}
	// d0 made four: b5 went; e9 made four again: e9 itself went.
	waitReady(t, ch, "dead", 2)
	if got := strings.Join(drainBodies(t, ch, "dead"), ","); got != "b5,e9" {
		t.Fatalf("dead-lettered %s", got)
	}
	if got := strings.Join(drainBodies(t, ch, "pq"), ","); got != "a1,c1,d0" {
		t.Fatalf("left %s", got)
	}

	declare(t, ch, "pt", amqp091.Table{"x-max-priority": int32(10), "x-dead-letter-exchange": "dlx"})
	for _, m := range []struct {
		body, exp string
		p         uint8
	}{{"low", "20", 1}, {"high", "", 5}} {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "pt", false, false,
			amqp091.Publishing{Priority: m.p, Expiration: m.exp, Body: []byte(m.body)})
		if err != nil {
			t.Fatal(err)
		}
		dc.Wait()
	}
	time.Sleep(50 * time.Millisecond)
	// low expired behind high, the head, which never expires: still there.
	waitReady(t, ch, "pt", 2)
	if d := get(t, ch, "pt"); string(d.Body) != "high" {
		t.Fatalf("got %q", d.Body)
	}
	waitReady(t, ch, "pt", 0)
	waitReady(t, ch, "dead", 1)
	if got := strings.Join(drainBodies(t, ch, "dead"), ","); got != "low" {
		t.Fatalf("dead-lettered %s", got)
	}
}

// Consumer priorities over real sockets: the high-priority consumer gets
// every message its prefetch allows, the low one the rest; once the high
// one acks, it gets the next.
func TestConsumerPriorityPrefetch(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "cprio")
	ch := confirmChannel(t, c)
	declare(t, ch, "q", nil)
	hi, lo := channel(t, c), channel(t, c)
	if err := hi.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := lo.Qos(100, 0, false); err != nil {
		t.Fatal(err)
	}
	hiDs, err := hi.Consume("q", "hi", false, false, false, false, amqp091.Table{"x-priority": int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	loDs, err := lo.Consume("q", "lo", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		publishPrio(t, ch, "q", fmt.Sprint(i), 0, 0)
	}
	h := receive(t, hiDs, 2)
	l := receive(t, loDs, 8)
	if bodiesOf(h) != "0,1" || bodiesOf(l) != "2,3,4,5,6,7,8,9" {
		t.Fatalf("hi got %s, lo got %s", bodiesOf(h), bodiesOf(l))
	}
	if err := h[1].Ack(true); err != nil {
		t.Fatal(err)
	}
	// A reply on hi's channel comes after its ack was handled: hi has room.
	if _, err := hi.QueueDeclarePassive("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		publishPrio(t, ch, "q", fmt.Sprint(10+i), 0, 0)
	}
	h = receive(t, hiDs, 2)
	l = receive(t, loDs, 1)
	if bodiesOf(h) != "10,11" || bodiesOf(l) != "12" {
		t.Fatalf("after ack: hi got %s, lo got %s", bodiesOf(h), bodiesOf(l))
	}
	select {
	case d := <-hiDs:
		t.Fatalf("extra delivery %s to hi", d.Body)
	case d := <-loDs:
		t.Fatalf("extra delivery %s to lo", d.Body)
	case <-time.After(50 * time.Millisecond):
	}
}
