package vhost

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// maxPriority is the x-max-priority argument.
func maxPriority(n int) amqp.Table { return amqp.Table{{Name: "x-max-priority", Value: int32(n)}} }

// prioMsg makes a message with priority p, or with no priority property
// when p < 0.
func prioMsg(t testing.TB, body string, p int) *Message {
	t.Helper()
	props := amqp.Properties{}
	if p >= 0 {
		props.Flags, props.Priority = amqp.FlagPriority, uint8(p)
	}
	return propsMsg(t, body, props)
}

func (e *env) publishPrio(q, body string, p int) PublishResult {
	e.t.Helper()
	return e.publishMsg("", q, prioMsg(e.t, body, p))
}

// getAll empties q with basic.get (no-ack) and returns the bodies in order.
func (e *env) getAll(q string) string {
	e.t.Helper()
	var out []string
	for {
		body, d := e.get(e.s, e.k, q, true)
		if d.Message == nil {
			return strings.Join(out, ",")
		}
		out = append(out, body)
	}
}

// queueOf returns the queue called name.
func (e *env) queueOf(name string) *Queue {
	e.v.mu.RLock()
	defer e.v.mu.RUnlock()
	return e.v.queues[name]
}

func TestPropertyPriority(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    amqp.Properties
		want int
	}{
		{"absent", amqp.Properties{}, -1},
		{"zero", amqp.Properties{Flags: amqp.FlagPriority}, 0},
		{"alone", amqp.Properties{Priority: 7}, 7},
		{"after the others", amqp.Properties{ContentType: "text/plain", ContentEncoding: "gzip",
			Headers: amqp.Table{{Name: "k", Value: "v"}, {Name: "n", Value: int32(3)}}, DeliveryMode: 2, Priority: 200,
			CorrelationID: "c", Expiration: "1000"}, 200},
		{"empty headers", amqp.Properties{Flags: amqp.FlagHeaders, Headers: amqp.Table{}, Priority: 4}, 4},
	} {
		p, ok := propertyPriority(amqp.AppendProperties(nil, &tc.p))
		if got := map[bool]int{true: int(p), false: -1}[ok]; got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// The example, and the bounds: no property is 0, above the
// maximum is the maximum.
func TestPriorityOrder(t *testing.T) {
	e := newEnv(t)
	q := e.declare("pq", maxPriority(10))
	e.publishPrio(q, "first", 3)
	e.publishPrio(q, "second", 6)
	e.publishPrio(q, "third", 3)
	if got := e.getAll(q); got != "second,first,third" {
		t.Fatalf("got %s", got)
	}
	e.publishPrio(q, "none", -1)
	e.publishPrio(q, "zero", 0)
	e.publishPrio(q, "above", 200)
	e.publishPrio(q, "max", 10)
	e.publishPrio(q, "nine", 9)
	if got := e.getAll(q); got != "above,max,nine,none,zero" {
		t.Fatalf("got %s", got)
	}
	// Without x-max-priority the property is ignored; x-max-priority 0
	// makes every message priority 0.
	for _, args := range []amqp.Table{nil, maxPriority(0)} {
		q := e.declare("", args)
		e.publishPrio(q, "a", 1)
		e.publishPrio(q, "b", 9)
		e.publishPrio(q, "c", -1)
		if got := e.getAll(q); got != "a,b,c" {
			t.Fatalf("%v: got %s", args, got)
		}
	}
}

// Consumers get the same order, and a requeued message goes back to its
// place among its priority, ahead of later ones of that priority and
// behind the higher priorities.
func TestPriorityConsumeAndRequeue(t *testing.T) {
	e := newEnv(t)
	q := e.declare("pq", maxPriority(9))
	for i, p := range []int{1, 5, 5, 1, 9, 5} {
		e.publishPrio(q, fmt.Sprintf("m%d.p%d", i, p), p)
	}
	var tags []uint64
	for range 4 {
		_, d := e.get(e.s, e.k, q, false)
		tags = append(tags, d.DeliveryTag)
	}
	e.publishPrio(q, "m6.p5", 5)
	e.publishPrio(q, "m7.p9", 9)
	// Out of tag order: m4.p9, m1.p5, m2.p5, m5.p5 were taken.
	noErr(t, e.s.Nack(tags[2], false, true))
	noErr(t, e.s.Nack(tags[3], false, true))
	noErr(t, e.s.Nack(tags[0], false, true))
	e.consume(e.s, q, true)
	ds := e.k.take()
	if got := bodies(ds); got != "m4.p9,m7.p9,m2.p5,m5.p5,m6.p5,m0.p1,m3.p1" {
		t.Fatalf("got %s", got)
	}
	redelivered := map[string]bool{"m4.p9": true, "m2.p5": true, "m5.p5": true}
	for _, d := range ds {
		if d.Redelivered != redelivered[string(d.Message.Body)] {
			t.Errorf("%s: redelivered %v", d.Message.Body, d.Redelivered)
		}
	}
	// m1.p5 is still out (tags[1]).
	noErr(t, e.s.Ack(tags[1], false))
}

// x-max-length with drop-head drops the head of the whole queue, which is
// the oldest message of the highest priority (rabbit_priority_queue:drop/2
// runs from the highest priority down): a high-priority message published
// to a full queue of lower ones is itself the one dropped.
func TestPriorityMaxLengthDropHead(t *testing.T) {
	e := newEnv(t)
	e.declareX("dlx", "fanout")
	dead := e.declare("dead", nil)
	e.bind(dead, "dlx", "", nil)
	q := e.declare("pq", amqp.Table{{Name: "x-max-priority", Value: int32(10)},
		{Name: "x-max-length", Value: int32(2)}, {Name: "x-dead-letter-exchange", Value: "dlx"}})
	e.publishPrio(q, "a1", 1)
	e.publishPrio(q, "b1", 1)
	e.publishPrio(q, "c5", 5) // dropped at once: the head
	e.publishPrio(q, "d0", 0) // drops a1
	if got := e.getAll(dead); got != "c5,a1" {
		t.Fatalf("dead-lettered %s", got)
	}
	if got := e.getAll(q); got != "b1,d0" {
		t.Fatalf("left %s", got)
	}
	// x-max-length-bytes counts every priority too.
	q = e.declare("pb", amqp.Table{{Name: "x-max-priority", Value: int32(10)}, {Name: "x-max-length-bytes", Value: int32(4)}})
	e.publishPrio(q, "aa", 2)
	e.publishPrio(q, "bb", 0)
	e.publishPrio(q, "cc", 1) // drops aa
	if got := e.getAll(q); got != "cc,bb" {
		t.Fatalf("left %s", got)
	}
}

// reject-publish refuses whatever the priority; reject-publish-dlx
// dead-letters the refused message.
func TestPriorityRejectPublish(t *testing.T) {
	e := newEnv(t)
	e.declareX("dlx", "fanout")
	dead := e.declare("dead", nil)
	e.bind(dead, "dlx", "", nil)
	for _, overflow := range []string{"reject-publish", "reject-publish-dlx"} {
		q := e.declare("", amqp.Table{{Name: "x-max-priority", Value: int32(10)}, {Name: "x-max-length", Value: int32(2)},
			{Name: "x-overflow", Value: overflow}, {Name: "x-dead-letter-exchange", Value: "dlx"}})
		e.publishPrio(q, "a0", 0)
		e.publishPrio(q, "b0", 0)
		if r := e.publishPrio(q, "c9", 9); !r.Rejected {
			t.Fatalf("%s: c9 not rejected", overflow)
		}
		if got := e.getAll(q); got != "a0,b0" {
			t.Fatalf("%s: left %s", overflow, got)
		}
	}
	if got := e.getAll(dead); got != "c9" {
		t.Fatalf("dead-lettered %s", got)
	}
}

// Only the head expires, and in a priority queue the head is that of the
// highest priority: an expired low-priority message waits behind a live
// high-priority one, then goes (dead-lettered) when it becomes the head.
func TestPriorityTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declareX("dlx", "fanout")
		dead := e.declare("dead", nil)
		e.bind(dead, "dlx", "", nil)
		q := e.declare("pq", amqp.Table{{Name: "x-max-priority", Value: int32(5)}, {Name: "x-dead-letter-exchange", Value: "dlx"}})
		e.publishMsg("", q, propsMsg(t, "low", amqp.Properties{Priority: 1, Expiration: "100"}))
		e.publishMsg("", q, propsMsg(t, "high", amqp.Properties{Priority: 5}))
		e.publishMsg("", q, propsMsg(t, "mid", amqp.Properties{Priority: 3, Expiration: "300"}))
		sleep(200 * time.Millisecond)
		if n := e.ready(q); n != 3 {
			t.Fatalf("%d ready at 200 ms, want 3 (low waits behind high)", n)
		}
		if body, _ := e.get(e.s, e.k, q, true); body != "high" {
			t.Fatalf("got %q", body)
		}
		// mid is the head now, live until 300 ms; low is behind it.
		if n := e.ready(q); n != 2 {
			t.Fatalf("%d ready after high", n)
		}
		sleep(101 * time.Millisecond)
		// The timer took mid at 300 ms, then low, expired since 100 ms.
		if n := e.ready(q); n != 0 {
			t.Fatalf("%d ready at 301 ms", n)
		}
		if got := e.getAll(dead); got != "mid,low" {
			t.Fatalf("dead-lettered %s", got)
		}
	})
}

// checkWindow fails when q holds more ready messages in memory than the
// paging window, or its counts disagree with its levels.
func checkWindow(t *testing.T, q *Queue) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	r := &q.ready
	if r.memN > pageWindow {
		t.Fatalf("%d messages in memory, window %d", r.memN, pageWindow)
	}
	n, mem, paged := 0, 0, 0
	var bytes, memBytes int64
	for i, l := range r.levels {
		if i > 0 && l.prio >= r.levels[i-1].prio {
			t.Fatalf("levels out of order")
		}
		if l.empty() {
			t.Fatalf("empty level %d kept", l.prio)
		}
		var lb int64
		for k := 0; k < l.mem.Len(); k++ {
			lb += l.mem.At(k).msg.bodySize()
			if l.mem.At(k).prio != l.prio {
				t.Fatalf("priority %d message in level %d", l.mem.At(k).prio, l.prio)
			}
		}
		if lb != l.memBytes {
			t.Fatalf("level %d: %d bytes counted, %d held", l.prio, l.memBytes, lb)
		}
		n += l.mem.Len() + l.paged()
		mem += l.mem.Len()
		paged += l.paged()
		memBytes += lb
		bytes += lb
		if l.pages != nil {
			bytes += l.pages.bytes
		}
	}
	if n != r.n || mem != r.memN || paged != q.paged() || bytes != r.bytes || memBytes != r.memBytes {
		t.Fatalf("counts n %d/%d mem %d/%d paged %d/%d bytes %d/%d memBytes %d/%d",
			r.n, n, r.memN, mem, q.paged(), paged, r.bytes, bytes, r.memBytes, memBytes)
	}
}

// A backlog of several priorities larger than the window is paged, each
// priority in its own page file, and comes back in priority order with
// the counts right throughout, memory never above the window.
func TestPriorityPaging(t *testing.T) {
	e, dir := newPagingEnv(t)
	name := e.declare("pq", maxPriority(3))
	q := e.queueOf(name)
	const n = 3*pageWindow + 101
	for i := range n {
		e.publishPrio(name, fmt.Sprintf("p%d.%05d", i%4, i), i%4)
		if i%500 == 0 {
			checkWindow(t, q)
		}
	}
	info := queueInfo(t, e, name)
	if info.MessagesReady != n || info.MessagesPagedOut != n-pageWindow {
		t.Fatalf("ready %d paged %d, want %d and %d", info.MessagesReady, info.MessagesPagedOut, n, n-pageWindow)
	}
	if info.MessageBytesReady != int64(8*n) || info.MessageBytesPagedOut != int64(8*(n-pageWindow)) {
		t.Fatalf("bytes ready %d paged %d", info.MessageBytesReady, info.MessageBytesPagedOut)
	}
	e.flushAll(name)
	if f := pageFiles(t, dir); len(f) < 4 {
		t.Fatalf("page files %v, want one per priority", f)
	}
	// Drain half by basic.get, half by a consumer.
	var got []string
	for len(got) < n/2 {
		body, _ := e.get(e.s, e.k, name, true)
		got = append(got, body)
		if len(got)%250 == 0 {
			checkWindow(t, q)
		}
	}
	e.consume(e.s, name, true)
	for _, d := range e.k.take() {
		got = append(got, string(d.Message.Body))
	}
	var want []string
	for p := 3; p >= 0; p-- {
		for i := range n {
			if i%4 == p {
				want = append(want, fmt.Sprintf("p%d.%05d", p, i))
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		for i := range want {
			if i >= len(got) || got[i] != want[i] {
				t.Fatalf("delivery %d: got %q, want %q (%d of %d)", i, got[min(i, len(got)-1)], want[i], len(got), len(want))
			}
		}
	}
	checkWindow(t, q)
	if info := queueInfo(t, e, name); info.MessagesReady != 0 || info.MessagesPagedOut != 0 || info.MessageBytesReady != 0 {
		t.Fatalf("after draining: %+v", info)
	}
	if f := pageFiles(t, dir); len(f) != 0 {
		t.Fatalf("page files left after draining: %v", f)
	}
}

// Memory full of low-priority messages, then a higher-priority backlog
// arrives (paged, as the window is full): reading it back first moves the
// low ones out of memory, ahead of their own paged messages, so memory
// stays within the window and both come out in order; requeued messages
// of either go back to their places.
func TestPriorityPagingEvictsLowerLevels(t *testing.T) {
	e, _ := newPagingEnv(t)
	name := e.declare("pq", maxPriority(9))
	q := e.queueOf(name)
	const low, high = pageWindow + 300, 2 * pageWindow
	for i := range low {
		e.publishPrio(name, fmt.Sprintf("low.%05d", i), 0)
	}
	for i := range high {
		e.publishPrio(name, fmt.Sprintf("high.%05d", i), 9)
	}
	checkWindow(t, q)
	if p := queueInfo(t, e, name).MessagesPagedOut; p < high {
		t.Fatalf("%d paged, want at least the %d high ones", p, high)
	}
	// Take some of each out unacknowledged to requeue them later.
	for i := range high {
		// The first ten stay unacknowledged, to be requeued below.
		body, _ := e.get(e.s, e.k, name, i >= 10)
		if want := fmt.Sprintf("high.%05d", i); body != want {
			t.Fatalf("get %d: %q, want %q", i, body, want)
		}
		if i%200 == 0 {
			checkWindow(t, q)
		}
	}
	var lowTags []uint64
	for i := range 10 {
		_, d := e.get(e.s, e.k, name, false)
		if want := fmt.Sprintf("low.%05d", i); string(d.Message.Body) != want {
			t.Fatalf("low get %d: %q, want %q", i, d.Message.Body, want)
		}
		lowTags = append(lowTags, d.DeliveryTag)
	}
	noErr(t, e.s.Nack(lowTags[9], true, true)) // every one still out, high and low
	checkWindow(t, q)
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("high.%05d", i))
	}
	for i := range low {
		want = append(want, fmt.Sprintf("low.%05d", i))
	}
	if got := e.getAll(name); got != strings.Join(want, ",") {
		t.Fatalf("after requeue: %.200s…", got)
	}
	checkWindow(t, q)
}

// Purge and delete of a paged priority queue remove every level's files.
func TestPriorityPagingPurgeAndDelete(t *testing.T) {
	e, dir := newPagingEnv(t)
	name := e.declare("pq", maxPriority(5))
	const n = 2 * pageWindow
	for i := range n {
		e.publishPrio(name, "x", i%6)
	}
	e.flushAll(name)
	got, err := e.s.PurgeQueue(name)
	noErr(t, err)
	if got != n {
		t.Fatalf("purged %d, want %d", got, n)
	}
	checkWindow(t, e.queueOf(name))
	if f := pageFiles(t, dir); len(f) != 0 {
		t.Fatalf("page files left after purge: %v", f)
	}
	for i := range n {
		e.publishPrio(name, "y", i%6)
	}
	e.flushAll(name)
	if count, err := e.s.DeleteQueue(name, false, false); err != nil || count != n {
		t.Fatalf("deleted %d, %v", count, err)
	}
	if f := pageFiles(t, dir); len(f) != 0 {
		t.Fatalf("page files left after delete: %v", f)
	}
}

func xPriority(p int) amqp.Table { return amqp.Table{{Name: "x-priority", Value: int32(p)}} }

// tagsOf lists the consumer tags of ds.
func tagsOf(ds []Delivery) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ConsumerTag)
	}
	return strings.Join(out, ",")
}

// Messages go to the highest-priority consumers with room, round-robin
// among them; a lower priority gets messages only while every higher one
// is at its prefetch limit.
func TestConsumerPriorities(t *testing.T) {
	e := newEnv(t)
	q := e.declare("q", nil)
	s2, k2 := e.session(e.conn)
	consume := func(s *Session, tag string, prio any) {
		t.Helper()
		_, err := s.Consume(ConsumeSpec{Queue: q, Tag: tag, Args: amqp.Table{{Name: "x-priority", Value: prio}}}, nil)
		noErr(t, err)
	}
	noErr(t, e.s.Qos(0, 10, false))
	consume(e.s, "low", int64(-5))
	consume(e.s, "hiA", int32(10))
	noErr(t, s2.Qos(0, 2, false))
	consume(s2, "hiB", uint8(10))
	consume(s2, "mid", int16(1))
	for i := range 6 {
		e.publish("", q, fmt.Sprint(i))
	}
	// hiA and hiB alternate until hiB is full (2); hiA takes the rest.
	if got := tagsOf(e.k.take()) + "|" + tagsOf(k2.take()); got != "hiA,hiA,hiA,hiA|hiB,hiB" {
		t.Fatalf("deliveries to %s", got)
	}
	// Six more fill hiA (10); then mid (2), then low.
	for i := range 9 {
		e.publish("", q, fmt.Sprint(6+i))
	}
	if got := tagsOf(e.k.take()) + "|" + tagsOf(k2.take()); got != "hiA,hiA,hiA,hiA,hiA,hiA,low|mid,mid" {
		t.Fatalf("deliveries to %s", got)
	}
	// An ack on hiB (session 2's first delivery) makes room there.
	noErr(t, s2.Ack(1, false))
	e.publish("", q, "next")
	if got := tagsOf(e.k.take()) + "|" + tagsOf(k2.take()); got != "|hiB" {
		t.Fatalf("after the ack: %s", got)
	}
	// Cancelling hiA leaves its priority to hiB alone: with room for one
	// more each, hiB, mid and low take one message each.
	e.s.Cancel("hiA")
	noErr(t, s2.Ack(3, true)) // hiB's tag 2, mid's tag 3
	e.publish("", q, "a")
	e.publish("", q, "b")
	e.publish("", q, "c")
	if got := tagsOf(e.k.take()) + "|" + tagsOf(k2.take()); got != "low|hiB,mid" {
		t.Fatalf("after cancel: %s", got)
	}
}

// With single active consumer the first consumer is active whatever the
// priorities; when it goes, a classic queue activates the waiting consumer
// of the highest priority (the first subscribed among equals), a quorum
// queue the first subscribed.
func TestSingleActiveConsumerPriority(t *testing.T) {
	for _, tc := range []struct {
		qtype string
		next  []string
	}{
		{"classic", []string{"c5a", "c5b", "c1", "c0"}},
		{"quorum", []string{"c1", "c5a", "c0", "c5b"}},
	} {
		t.Run(tc.qtype, func(t *testing.T) {
			e := newEnv(t)
			// Durable: a quorum queue must be.
			d, err := e.s.DeclareQueue(QueueSpec{Name: "sac", Durable: true,
				Args: amqp.Table{{Name: "x-single-active-consumer", Value: true}, {Name: "x-queue-type", Value: tc.qtype}}})
			if err != nil {
				t.Fatalf("declare: %v", err)
			}
			q := d.Name
			for _, c := range []struct {
				tag string
				p   int
			}{{"first", 0}, {"c1", 1}, {"c5a", 5}, {"c0", 0}, {"c5b", 5}} {
				_, err := e.s.Consume(ConsumeSpec{Queue: q, Tag: c.tag, NoAck: true, Args: xPriority(c.p)}, nil)
				noErr(t, err)
			}
			active := "first"
			for _, next := range tc.next {
				e.publish("", q, "m")
				if got := tagsOf(e.k.take()); got != active {
					t.Fatalf("delivered to %s, want %s", got, active)
				}
				e.s.Cancel(active)
				active = next
			}
		})
	}
}
