package vhost

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/amqp"
)

func publishN(e *env, q string, n int) {
	e.t.Helper()
	for i := 1; i <= n; i++ {
		e.publish("", q, fmt.Sprint(i))
	}
}

func TestRoundRobin(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	s1, k1 := e.session(e.conn)
	s2, k2 := e.session(e.conn)
	s3, k3 := e.session(e.conn)
	e.consume(s1, "q", true)
	e.consume(s2, "q", true)
	e.consume(s3, "q", true)
	publishN(e, "q", 9)
	if a, b, c := bodies(k1.take()), bodies(k2.take()), bodies(k3.take()); a != "1,4,7" || b != "2,5,8" || c != "3,6,9" {
		t.Fatalf("round robin %q %q %q", a, b, c)
	}
}

func TestConsumeOkBeforeDeliveries(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	publishN(e, "q", 2)
	var order []string
	k := &sink{onDeliver: func(d Delivery) { order = append(order, "deliver "+string(d.Message.Body)) }}
	s := e.conn.NewSession(k)
	tag, err := s.Consume(ConsumeSpec{Queue: "q"}, func(tag string) { order = append(order, "ok "+tag) })
	noErr(t, err)
	if !regexp.MustCompile(`^amq\.ctag-[A-Za-z0-9_-]{22}$`).MatchString(tag) {
		t.Fatalf("tag %q", tag)
	}
	if got := strings.Join(order, "|"); got != "ok "+tag+"|deliver 1|deliver 2" {
		t.Fatalf("order %q", got)
	}
	ds := k.take()
	for i, d := range ds {
		if d.DeliveryTag != uint64(i+1) || d.ConsumerTag != tag || d.Redelivered || d.Get {
			t.Fatalf("delivery %d: %+v", i, d)
		}
	}
}

func TestConsumerErrors(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	_, err := e.s.Consume(ConsumeSpec{Queue: "nope"}, nil)
	wantErr(t, err, 404, "NOT_FOUND - no queue 'nope' in vhost '/'")
	_, err = e.s.Consume(ConsumeSpec{Queue: "q", Tag: "t1"}, nil)
	noErr(t, err)
	_, err = e.s.Consume(ConsumeSpec{Queue: "q", Tag: "t1"}, nil)
	wantErr(t, err, 530, "NOT_ALLOWED - attempt to reuse consumer tag 't1'")
	// An exclusive consume needs the queue without consumers.
	s2, _ := e.session(e.v.Connect())
	_, err = s2.Consume(ConsumeSpec{Queue: "q", Exclusive: true}, nil)
	wantErr(t, err, 403, "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use")
	e.s.Cancel("t1")
	_, err = s2.Consume(ConsumeSpec{Queue: "q", Exclusive: true}, nil)
	noErr(t, err)
	_, err = e.s.Consume(ConsumeSpec{Queue: "q"}, nil)
	wantErr(t, err, 403, "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use")
	_, err = e.s.Consume(ConsumeSpec{Queue: "q", Args: amqp.Table{{Name: "x-priority", Value: "high"}}}, nil)
	wantErr(t, err, 406, `PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'q' in vhost '/': "expected integer, got longstr"`)
	if e.s.Cancel("unknown") {
		t.Fatal("cancel of an unknown tag found something")
	}
}

func TestPrefetchPerConsumer(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	s, k := e.session(e.conn)
	noErr(t, s.Qos(0, 2, false))
	e.consume(s, "q", false)
	e.consume(s, "q", false)
	publishN(e, "q", 10)
	if got := bodies(k.take()); got != "1,2,3,4" {
		t.Fatalf("two consumers with prefetch 2 got %q", got)
	}
	if e.ready("q") != 6 {
		t.Fatalf("ready %d", e.ready("q"))
	}
	// Acking one lets exactly one more through, to the consumer that acked.
	noErr(t, s.Ack(1, false))
	ds := k.take()
	if len(ds) != 1 || string(ds[0].Message.Body) != "5" || ds[0].DeliveryTag != 5 {
		t.Fatalf("after ack: %+v", ds)
	}
	// A later qos(global=false) does not change existing consumers.
	noErr(t, s.Qos(0, 10, false))
	if k.count() != 0 {
		t.Fatal("qos changed an existing consumer's prefetch")
	}
	// No-ack consumers ignore the prefetch.
	s2, k2 := e.session(e.conn)
	noErr(t, s2.Qos(0, 1, false))
	e.consume(s2, "q", true)
	if k2.count() != 5 {
		t.Fatalf("no-ack consumer got %d", k2.count())
	}
}

func TestPrefetchGlobal(t *testing.T) {
	e := newEnv(t)
	e.declare("q1", nil)
	e.declare("q2", nil)
	s, k := e.session(e.conn)
	noErr(t, s.Qos(0, 3, true))
	e.consume(s, "q1", false)
	e.consume(s, "q2", false)
	publishN(e, "q1", 5)
	publishN(e, "q2", 5)
	if n := k.count(); n != 3 {
		t.Fatalf("global prefetch 3 let %d through", n)
	}
	k.take()
	noErr(t, s.Ack(2, true))
	if n := k.count(); n != 2 {
		t.Fatalf("after acking 2, %d more", n)
	}
	// Both limits at once: per consumer 1, channel 3.
	e.declare("q3", nil)
	s3, k3 := e.session(e.conn)
	noErr(t, s3.Qos(0, 1, false))
	noErr(t, s3.Qos(0, 3, true))
	e.consume(s3, "q3", false)
	e.consume(s3, "q3", false)
	publishN(e, "q3", 5)
	if n := k3.count(); n != 2 {
		t.Fatalf("per-consumer 1 with two consumers let %d through", n)
	}
	// qos(global=false) lifts the channel limit, as in RabbitMQ 3.10.
	e.declare("q4", nil)
	s4, k4 := e.session(e.conn)
	noErr(t, s4.Qos(0, 2, true))
	e.consume(s4, "q4", false)
	publishN(e, "q4", 5)
	if n := k4.count(); n != 2 {
		t.Fatalf("global 2 let %d through", n)
	}
	noErr(t, s4.Qos(0, 0, false))
	if n := k4.count(); n != 5 {
		t.Fatalf("after lifting the limit %d", n)
	}
	wantErr(t, s4.Qos(10, 0, false), 540, "NOT_IMPLEMENTED - prefetch_size!=0 (10)")
}

func TestGet(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	ok, err := e.s.Get("q", false)
	noErr(t, err)
	if ok {
		t.Fatal("get on an empty queue")
	}
	publishN(e, "q", 3)
	body, d := e.get(e.s, e.k, "q", false)
	if body != "1" || d.MessageCount != 2 || d.DeliveryTag != 1 || d.ConsumerTag != "" {
		t.Fatalf("get %q %+v", body, d)
	}
	body, d = e.get(e.s, e.k, "q", true)
	if body != "2" || d.MessageCount != 1 || d.DeliveryTag != 2 {
		t.Fatalf("get %q %+v", body, d)
	}
	if info, _ := e.v.Queue("q"); info.MessagesReady != 1 || info.MessagesUnacknowledged != 1 || info.Messages != 2 {
		t.Fatalf("info %+v", info)
	}
	noErr(t, e.s.Ack(1, false))
	if info, _ := e.v.Queue("q"); info.MessagesUnacknowledged != 0 {
		t.Fatalf("info %+v", info)
	}
	_, err = e.s.Get("nope", false)
	wantErr(t, err, 404, "NOT_FOUND - no queue 'nope' in vhost '/'")
}

func TestAckErrors(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	publishN(e, "q", 3)
	for i := 0; i < 3; i++ {
		e.get(e.s, e.k, "q", false)
	}
	wantErr(t, e.s.Ack(7, false), 406, "PRECONDITION_FAILED - unknown delivery tag 7")
	wantErr(t, e.s.Ack(7, true), 406, "PRECONDITION_FAILED - unknown delivery tag 7")
	noErr(t, e.s.Ack(2, false))
	wantErr(t, e.s.Ack(2, false), 406, "PRECONDITION_FAILED - unknown delivery tag 2")
	wantErr(t, e.s.Reject(2, true), 406, "PRECONDITION_FAILED - unknown delivery tag 2")
	noErr(t, e.s.Ack(3, true))
	if e.s.Unacked() != 0 {
		t.Fatalf("%d unacked", e.s.Unacked())
	}
	noErr(t, e.s.Ack(0, true)) // nothing outstanding: fine
	wantErr(t, e.s.Ack(0, false), 406, "PRECONDITION_FAILED - unknown delivery tag 0")
}

// TestNackMultipleRequeue is amqp091-go's TestRabbitMQQueueNackMultipleRequeue,
// which only checks when the server says it is RabbitMQ.
func TestNackMultipleRequeue(t *testing.T) {
	e := newEnv(t)
	e.declare("test.rabbitmq-basic-nack", nil)
	e.publish("", "test.rabbitmq-basic-nack", "1")
	e.publish("", "test.rabbitmq-basic-nack", "2")
	b1, _ := e.get(e.s, e.k, "test.rabbitmq-basic-nack", false)
	b2, d2 := e.get(e.s, e.k, "test.rabbitmq-basic-nack", false)
	if b1 != "1" || b2 != "2" {
		t.Fatalf("got %q %q", b1, b2)
	}
	noErr(t, e.s.Nack(d2.DeliveryTag, true, true))
	b1, d1 := e.get(e.s, e.k, "test.rabbitmq-basic-nack", false)
	b2, d2 = e.get(e.s, e.k, "test.rabbitmq-basic-nack", false)
	if b1 != "1" || b2 != "2" || !d1.Redelivered || !d2.Redelivered {
		t.Fatalf("after nack multiple requeue: %q %+v, %q %+v", b1, d1, b2, d2)
	}
}

func TestRequeueOrder(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	publishN(e, "q", 6)
	s, k := e.session(e.conn)
	noErr(t, s.Qos(0, 4, false))
	tag := e.consume(s, "q", false)
	if got := bodies(k.take()); got != "1,2,3,4" {
		t.Fatalf("got %q", got)
	}
	s.Cancel(tag)
	// Requeue 3 then 1: they go back before 5 and 6, in their original
	// order, marked redelivered.
	noErr(t, s.Reject(3, true))
	noErr(t, s.Nack(1, false, true))
	var got []string
	for {
		b, d := e.get(e.s, e.k, "q", true)
		if b == "" {
			break
		}
		got = append(got, fmt.Sprintf("%s:%v", b, d.Redelivered))
	}
	if s := strings.Join(got, ","); s != "1:true,3:true,5:false,6:false" {
		t.Fatalf("order %s", s)
	}
}

func TestRecover(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	publishN(e, "q", 3)
	s, k := e.session(e.conn)
	e.consume(s, "q", false)
	k.take()
	wantErr(t, s.Recover(false), 540, "NOT_IMPLEMENTED - requeue=false")
	noErr(t, s.Recover(true))
	ds := k.take()
	if bodies(ds) != "1,2,3" {
		t.Fatalf("redelivered %q", bodies(ds))
	}
	for i, d := range ds {
		if !d.Redelivered || d.DeliveryTag != uint64(4+i) {
			t.Fatalf("delivery %+v", d)
		}
	}
}

func TestCloseRequeuesInOrder(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	publishN(e, "q", 10)
	s, k := e.session(e.conn)
	noErr(t, s.Qos(0, 6, false))
	e.consume(s, "q", false)
	if got := bodies(k.take()); got != "1,2,3,4,5,6" {
		t.Fatalf("got %q", got)
	}
	// Acking 2 and 5 lets 7 and 8 out to the consumer.
	noErr(t, s.Ack(2, false))
	noErr(t, s.Ack(5, false))
	s.Close()
	s.Close()
	if info, _ := e.v.Queue("q"); info.MessagesReady != 8 || info.MessagesUnacknowledged != 0 || info.Consumers != 0 {
		t.Fatalf("after close %+v", info)
	}
	var got []string
	for {
		b, d := e.get(e.s, e.k, "q", true)
		if b == "" {
			break
		}
		got = append(got, fmt.Sprintf("%s:%v", b, d.Redelivered))
	}
	if g := strings.Join(got, ","); g != "1:true,3:true,4:true,6:true,7:true,8:true,9:false,10:false" {
		t.Fatalf("after close: %s", g)
	}
}

func TestCloseRequeuesToOtherConsumer(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	conn2 := e.v.Connect()
	s1, k1 := e.session(conn2)
	s2, k2 := e.session(e.conn)
	noErr(t, s2.Qos(0, 100, false))
	e.consume(s1, "q", false)
	publishN(e, "q", 4)
	if bodies(k1.take()) != "1,2,3,4" {
		t.Fatal("first consumer did not get everything")
	}
	e.consume(s2, "q", false)
	conn2.Close() // e.g. missed heartbeats
	ds := k2.take()
	if bodies(ds) != "1,2,3,4" {
		t.Fatalf("second consumer got %q", bodies(ds))
	}
	for _, d := range ds {
		if !d.Redelivered {
			t.Fatalf("not redelivered: %+v", d)
		}
	}
}

func TestBrokerCancelOnDelete(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	s, k := e.session(e.conn)
	tag := e.consume(s, "q", false)
	_, err := s.DeleteQueue("q", false, false)
	noErr(t, err)
	if c := k.cancels(); len(c) != 1 || c[0] != tag {
		t.Fatalf("cancels %v", c)
	}
	// Cancelling it afterwards is not an error.
	if s.Cancel(tag) {
		t.Fatal("consumer still known")
	}
}

func TestSingleActiveConsumer(t *testing.T) {
	e := newEnv(t)
	e.declare("sac", amqp.Table{{Name: "x-single-active-consumer", Value: true}})
	s1, k1 := e.session(e.conn)
	s2, k2 := e.session(e.conn)
	t1 := e.consume(s1, "sac", true)
	e.consume(s2, "sac", true)
	publishN(e, "sac", 3)
	if bodies(k1.take()) != "1,2,3" || k2.count() != 0 {
		t.Fatal("not all to the active consumer")
	}
	_, err := e.s.Consume(ConsumeSpec{Queue: "sac", Exclusive: true}, nil)
	wantErr(t, err, 403, "ACCESS_REFUSED - queue 'sac' in vhost '/' in exclusive use")
	s1.Cancel(t1)
	publishN(e, "sac", 2)
	if bodies(k2.take()) != "1,2" {
		t.Fatal("the next consumer did not take over")
	}
}
