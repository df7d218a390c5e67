package vhost

import (
	"regexp"
	"testing"

	"github.com/beatmq/beatmq/amqp"
)

func TestQueueDeclare(t *testing.T) {
	e := newEnv(t)
	d, err := e.s.DeclareQueue(QueueSpec{Name: ""})
	noErr(t, err)
	if !regexp.MustCompile(`^amq\.gen-[A-Za-z0-9_-]{22}$`).MatchString(d.Name) {
		t.Fatalf("server-named queue %q", d.Name)
	}
	e.declare("q", nil)
	e.publish("", "q", "1")
	e.publish("", "q", "2")
	s2, _ := e.session(e.conn)
	e.consume(s2, "q", false)
	e.publish("", "q", "3")
	// Passive declare ignores flags and arguments; counts ready messages
	// (one is out with the consumer) and consumers.
	d, err = e.s.DeclareQueue(QueueSpec{Name: "q", Passive: true, Durable: true, Exclusive: true, Args: amqp.Table{{Name: "x-message-ttl", Value: int32(5)}}})
	noErr(t, err)
	if d != (QueueDeclared{Name: "q", Messages: 0, Consumers: 1}) {
		t.Fatalf("passive declare-ok %+v", d)
	}
	d, err = e.s.DeclareQueue(QueueSpec{Name: "q"})
	noErr(t, err)
	if d.Consumers != 1 {
		t.Fatalf("declare-ok %+v", d)
	}
	// The "" shortcut names the last declared queue.
	n, err := e.s.PurgeQueue("")
	noErr(t, err)
	if n != 0 {
		t.Fatalf("purged %d", n)
	}
	fresh, _ := e.session(e.conn)
	_, err = fresh.PurgeQueue("")
	wantErr(t, err, 404, "NOT_FOUND - no previously declared queue")
	_, err = fresh.DeclareQueue(QueueSpec{Name: "missing", Passive: true})
	wantErr(t, err, 404, "NOT_FOUND - no queue 'missing' in vhost '/'")
	_, err = fresh.DeclareQueue(QueueSpec{Name: "amq.q"})
	wantErr(t, err, 403, "ACCESS_REFUSED - queue name 'amq.q' contains reserved prefix 'amq.*'")
}

func TestQueueRedeclareEquivalence(t *testing.T) {
	e := newEnv(t)
	_, err := e.s.DeclareQueue(QueueSpec{Name: "q", Durable: true, Args: amqp.Table{
		{Name: "x-message-ttl", Value: int32(1000)},
		{Name: "x-dead-letter-exchange", Value: "dlx"},
		{Name: "custom", Value: "ignored"},
	}})
	noErr(t, err)
	base := amqp.Table{{Name: "x-message-ttl", Value: int32(1000)}, {Name: "x-dead-letter-exchange", Value: "dlx"}}
	cases := []struct {
		name string
		spec QueueSpec
		text string
	}{
		{"durable", QueueSpec{Name: "q", Args: base}, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'"},
		{"auto_delete", QueueSpec{Name: "q", Durable: true, AutoDelete: true, Args: base}, "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'q' in vhost '/': received 'true' but current is 'false'"},
		{"ttl value", QueueSpec{Name: "q", Durable: true, Args: amqp.Table{{Name: "x-message-ttl", Value: int32(2000)}, {Name: "x-dead-letter-exchange", Value: "dlx"}}},
			"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received '2000' but current is '1000'"},
		{"ttl missing", QueueSpec{Name: "q", Durable: true, Args: amqp.Table{{Name: "x-dead-letter-exchange", Value: "dlx"}}},
			"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received none but current is the value '1000' of type 'signedint'"},
		{"ttl type class", QueueSpec{Name: "q", Durable: true, Args: amqp.Table{{Name: "x-message-ttl", Value: "1000"}, {Name: "x-dead-letter-exchange", Value: "dlx"}}},
			"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received '1000' but current is '1000'"},
		{"dlx added", QueueSpec{Name: "q", Durable: true, Args: append(base, amqp.Field{Name: "x-max-length", Value: int64(5)})},
			"PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'q' in vhost '/': received the value '5' of type 'long' but current is none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.s.DeclareQueue(c.spec)
			// The channel stamps queue.declare's 50/10
			// (broker's TestVHostErrorNamesMethod).
			if got := wantErr(t, err, 406, c.text); got.ClassID != 0 || got.MethodID != 0 {
				t.Errorf("class/method %d/%d, want 0/0", got.ClassID, got.MethodID)
			}
		})
	}
	// Integers of another width are equivalent; unknown arguments are not
	// compared; "classic" equals no x-queue-type.
	_, err = e.s.DeclareQueue(QueueSpec{Name: "q", Durable: true, Args: amqp.Table{
		{Name: "x-message-ttl", Value: int64(1000)}, {Name: "x-dead-letter-exchange", Value: "dlx"},
		{Name: "x-queue-type", Value: "classic"}, {Name: "custom", Value: int32(7)},
	}})
	noErr(t, err)
}

func TestQueueArgumentValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		args amqp.Table
		text string
	}{
		{amqp.Table{{Name: "x-message-ttl", Value: int32(-1)}}, "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}"},
		{amqp.Table{{Name: "x-message-ttl", Value: "100"}}, `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost '/': "expected integer, got longstr"`},
		{amqp.Table{{Name: "x-expires", Value: int32(0)}}, "PRECONDITION_FAILED - invalid arg 'x-expires' for queue 'q' in vhost '/': {value_zero,0}"},
		{amqp.Table{{Name: "x-max-length", Value: int32(-2)}}, "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-2}"},
		{amqp.Table{{Name: "x-overflow", Value: "drop-tail"}}, "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue 'q' in vhost '/': invalid_overflow"},
		{amqp.Table{{Name: "x-dead-letter-routing-key", Value: "k"}}, "PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue 'q' in vhost '/': routing_key_but_no_dlx_defined"},
		{amqp.Table{{Name: "x-dead-letter-exchange", Value: int32(1)}}, "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'"},
		{amqp.Table{{Name: "x-max-priority", Value: int32(300)}}, "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'q' in vhost '/': {max_value_exceeded,300}"},
		{amqp.Table{{Name: "x-queue-type", Value: "fast"}}, `PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'q' in vhost '/': "unsupported queue type 'fast'"`},
		{amqp.Table{{Name: "x-max-age", Value: "1D"}}, "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue 'q' in vhost '/' of queue type rabbit_classic_queue"},
	}
	for _, c := range cases {
		_, err := e.s.DeclareQueue(QueueSpec{Name: "q", Args: c.args})
		wantErr(t, err, 406, c.text)
	}
	if len(e.v.Queues()) != 0 {
		t.Fatal("a queue was made")
	}
}

func TestExclusiveQueue(t *testing.T) {
	e := newEnv(t)
	_, err := e.s.DeclareQueue(QueueSpec{Name: "ex", Exclusive: true, Durable: true})
	noErr(t, err)
	if info, _ := e.v.Queue("ex"); !info.Exclusive || info.Durable {
		t.Fatalf("exclusive queue %+v (an exclusive queue is never durable)", info)
	}
	other := e.v.Connect()
	s2, _ := e.session(other)
	locked := "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'ex' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."
	_, err = s2.DeclareQueue(QueueSpec{Name: "ex", Exclusive: true})
	wantErr(t, err, 405, locked)
	_, err = s2.DeclareQueue(QueueSpec{Name: "ex", Passive: true})
	wantErr(t, err, 405, locked)
	_, err = s2.Consume(ConsumeSpec{Queue: "ex"}, nil)
	wantErr(t, err, 405, locked)
	_, err = s2.Get("ex", false)
	wantErr(t, err, 405, locked)
	_, err = s2.PurgeQueue("ex")
	wantErr(t, err, 405, locked)
	_, err = s2.DeleteQueue("ex", false, false)
	wantErr(t, err, 405, locked)
	wantErr(t, s2.BindQueue("ex", "amq.direct", "k", nil), 405, locked)
	// The owner redeclaring without exclusive is refused too (strict check).
	_, err = e.s.DeclareQueue(QueueSpec{Name: "ex"})
	wantErr(t, err, 405, locked)
	// And a shared queue cannot be redeclared exclusive.
	e.declare("shared", nil)
	_, err = e.s.DeclareQueue(QueueSpec{Name: "shared", Exclusive: true})
	wantErr(t, err, 405, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'shared' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.")
	// Publishing to it from elsewhere is fine.
	if r, err := s2.Publish("", "ex", false, msg(t, "m")); err != nil || !r.Routed {
		t.Fatalf("publish to exclusive queue: %v %v", r, err)
	}

	e.conn.Close()
	if _, ok := e.v.Queue("ex"); ok {
		t.Fatal("exclusive queue outlived its connection")
	}
	if _, ok := e.v.Queue("shared"); !ok {
		t.Fatal("shared queue deleted with the connection")
	}
	other.Close()
}

func TestQueueBindErrors(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	wantErr(t, e.s.BindQueue("q", "nope", "k", nil), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'")
	wantErr(t, e.s.BindQueue("nope", "amq.direct", "k", nil), 404, "NOT_FOUND - no queue 'nope' in vhost '/'")
	wantErr(t, e.s.BindQueue("nope", "nope", "k", nil), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'")
	// Unbinding missing things is not an error.
	noErr(t, e.s.UnbindQueue("q", "amq.direct", "k", nil))
	noErr(t, e.s.UnbindQueue("nope", "amq.direct", "k", nil))
	noErr(t, e.s.UnbindQueue("q", "nope", "k", nil))
	// The "" shortcut: queue and routing key both the last declared queue.
	noErr(t, e.s.BindQueue("", "amq.direct", "", nil))
	if got, _ := e.v.Route("amq.direct", "q", nil); joinNames(got) != "q" {
		t.Fatalf("shortcut bind routes to %v", got)
	}
	// Binding twice is one binding; other arguments make another.
	e.bind("q", "amq.direct", "k", nil)
	e.bind("q", "amq.direct", "k", nil)
	e.bind("q", "amq.direct", "k", amqp.Table{{Name: "a", Value: int32(1)}})
	n := 0
	for _, b := range e.v.Bindings() {
		if b.Source == "amq.direct" && b.RoutingKey == "k" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d bindings", n)
	}
	if r := e.publish("amq.direct", "k", "once"); !r.Routed || e.ready("q") != 1 {
		t.Fatalf("two bindings to one queue delivered %d", e.ready("q"))
	}
}

func TestQueuePurgeAndDelete(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	for i := 0; i < 3; i++ {
		e.publish("", "q", "m")
	}
	n, err := e.s.PurgeQueue("q")
	noErr(t, err)
	if n != 3 || e.ready("q") != 0 {
		t.Fatalf("purged %d, %d left", n, e.ready("q"))
	}
	e.publish("", "q", "m")
	_, err = e.s.DeleteQueue("q", false, true)
	wantErr(t, err, 406, "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty")
	s2, k2 := e.session(e.conn)
	tag := e.consume(s2, "q", false)
	e.publish("", "q", "m2")
	_, err = e.s.DeleteQueue("q", true, false)
	wantErr(t, err, 406, "PRECONDITION_FAILED - queue 'q' in vhost '/' in use")
	// Both ready: one is unacked with the consumer; delete counts ready ones.
	noErr(t, s2.Qos(0, 1, false))
	n, err = e.s.DeleteQueue("q", false, false)
	noErr(t, err)
	if n != 0 {
		t.Fatalf("deleted %d ready messages", n)
	}
	if c := k2.cancels(); len(c) != 1 || c[0] != tag {
		t.Fatalf("broker cancels %v", c)
	}
	if s2.ConsumerCount() != 0 {
		t.Fatal("consumer still registered")
	}
	// Acking a message of the deleted queue is fine.
	noErr(t, s2.Ack(0, true))
	n, err = e.s.DeleteQueue("q", false, false)
	noErr(t, err)
	if n != 0 {
		t.Fatal("missing queue deleted messages")
	}
}

func TestQueueDeleteCount(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	for i := 0; i < 5; i++ {
		e.publish("", "q", "m")
	}
	n, err := e.s.DeleteQueue("", false, false)
	noErr(t, err)
	if n != 5 {
		t.Fatalf("deleted %d", n)
	}
}

func TestAutoDeleteQueue(t *testing.T) {
	e := newEnv(t)
	_, err := e.s.DeclareQueue(QueueSpec{Name: "ad", AutoDelete: true})
	noErr(t, err)
	// Never consumed: it stays.
	e.publish("", "ad", "m")
	if _, ok := e.v.Queue("ad"); !ok {
		t.Fatal("auto-delete queue deleted before any consumer")
	}
	s2, _ := e.session(e.conn)
	t1 := e.consume(s2, "ad", false)
	t2 := e.consume(s2, "ad", false)
	s2.Cancel(t1)
	if _, ok := e.v.Queue("ad"); !ok {
		t.Fatal("deleted with a consumer left")
	}
	s2.Cancel(t2)
	if _, ok := e.v.Queue("ad"); ok {
		t.Fatal("auto-delete queue survived its last consumer")
	}

	// Also when the consumer's channel closes.
	_, err = e.s.DeclareQueue(QueueSpec{Name: "ad2", AutoDelete: true})
	noErr(t, err)
	s3, _ := e.session(e.conn)
	e.consume(s3, "ad2", false)
	s3.Close()
	if _, ok := e.v.Queue("ad2"); ok {
		t.Fatal("auto-delete queue survived its consumer's channel")
	}
}
