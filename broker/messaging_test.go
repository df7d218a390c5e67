package broker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// dial connects amqp091-go to b with a heartbeat of 60 protocol seconds
// (long enough for any test at any HeartbeatUnit); closed at the end of t.
func dial(t *testing.T, b *brokertest.Broker, name string) *amqp091.Connection {
	t.Helper()
	props := amqp091.NewConnectionProperties()
	props.SetClientConnectionName(name)
	c, err := amqp091.DialConfig(b.URL(), amqp091.Config{Heartbeat: 60 * time.Second, Properties: props})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// channel opens a channel on c.
func channel(t *testing.T, c *amqp091.Connection) *amqp091.Channel {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return ch
}

// declare declares a non-durable, non-exclusive queue.
func declare(t *testing.T, ch *amqp091.Channel, name string, args amqp091.Table) {
	t.Helper()
	if _, err := ch.QueueDeclare(name, false, false, false, false, args); err != nil {
		t.Fatalf("queue.declare %s: %v", name, err)
	}
}

func publish(t *testing.T, ch *amqp091.Channel, key string, body []byte) {
	t.Helper()
	if err := ch.PublishWithContext(context.Background(), "", key, false, false, amqp091.Publishing{Body: body}); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// get does basic.get and fails unless a message comes.
func get(t *testing.T, ch *amqp091.Channel, queue string) amqp091.Delivery {
	t.Helper()
	d, ok, err := ch.Get(queue, false)
	if err != nil || !ok {
		t.Fatalf("basic.get %s: ok %v, err %v", queue, ok, err)
	}
	return d
}

// closeErr waits for the close notification of a connection or channel.
func closeErr(t *testing.T, c <-chan *amqp091.Error) *amqp091.Error {
	t.Helper()
	select {
	case e := <-c:
		if e == nil {
			t.Fatal("closed without an error")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no close")
	}
	return nil
}

func wantAMQPError(t *testing.T, e *amqp091.Error, code int, reason string) {
	t.Helper()
	if e.Code != code || e.Reason != reason {
		t.Fatalf("close %d %q, want %d %q", e.Code, e.Reason, code, reason)
	}
}

// rawPublish sends basic.publish with an empty property list and body on ch.
func rawPublish(r *brokertest.RawConn, ch uint16, pub *amqp.BasicPublish, props, body []byte) {
	var b []byte
	b = append(b, brokertest.FrameBytes(frames.TypeMethod, ch, brokertest.MethodPayload(pub))...)
	b = append(b, brokertest.FrameBytes(frames.TypeHeader, ch, amqp.AppendContentHeader(nil, 60, uint64(len(body)), props))...)
	if len(body) > 0 {
		b = append(b, brokertest.FrameBytes(frames.TypeBody, ch, body)...)
	}
	r.Write(b)
}

var noProps = []byte{0, 0}

// readContent reads the header and body frames that follow a content-bearing
// method and returns the body.
func readContent(t *testing.T, r *brokertest.RawConn) []byte {
	t.Helper()
	var size uint64
	for {
		f, err := r.ReadFrame(3 * time.Second)
		if err != nil {
			t.Fatalf("content header: %v", err)
		}
		if f.Type == frames.TypeHeartbeat {
			continue
		}
		if f.Type != frames.TypeHeader {
			t.Fatalf("frame type %d, want a content header", f.Type)
		}
		_, size, _, err = amqp.SplitContentHeader(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	var body []byte
	for uint64(len(body)) < size {
		f, err := r.ReadFrame(3 * time.Second)
		if err != nil {
			t.Fatalf("content body: %v", err)
		}
		if f.Type == frames.TypeHeartbeat {
			continue
		}
		if f.Type != frames.TypeBody {
			t.Fatalf("frame type %d, want a content body", f.Type)
		}
		body = append(body, f.Payload...)
	}
	return body
}

// A mandatory message no queue takes comes back as basic.return 312
// NO_ROUTE before its publisher confirm; confirms number publishes from 1 and
// come in order, and a run of publishes read together is confirmed by one
// basic.ack with multiple set, as RabbitMQ coalesces them.
func TestMandatoryReturnBeforeConfirm(t *testing.T) {
	b := brokertest.Run(t)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("confirms", 0)
	openChannel(t, r, 1)
	r.SendMethod(1, &amqp.QueueDeclare{Queue: "routed", AutoDelete: false})
	brokertest.Expect[*amqp.QueueDeclareOk](r, 3*time.Second)
	r.SendMethod(1, &amqp.ConfirmSelect{})
	brokertest.Expect[*amqp.ConfirmSelectOk](r, 3*time.Second)

	rawPublish(r, 1, &amqp.BasicPublish{RoutingKey: "routed"}, noProps, []byte("one"))
	if a := brokertest.Expect[*amqp.BasicAck](r, 3*time.Second); a.DeliveryTag != 1 || a.Multiple {
		t.Fatalf("ack %+v, want tag 1", a)
	}
	rawPublish(r, 1, &amqp.BasicPublish{RoutingKey: "nowhere", Mandatory: true}, noProps, []byte("two"))
	ret := brokertest.Expect[*amqp.BasicReturn](r, 3*time.Second)
	if ret.ReplyCode != 312 || ret.ReplyText != "NO_ROUTE" || ret.Exchange != "" || ret.RoutingKey != "nowhere" {
		t.Fatalf("return %+v", ret)
	}
	if body := readContent(t, r); string(body) != "two" {
		t.Fatalf("returned body %q", body)
	}
	if a := brokertest.Expect[*amqp.BasicAck](r, 3*time.Second); a.DeliveryTag != 2 || a.Multiple {
		t.Fatalf("ack %+v, want tag 2 after the return", a)
	}

	// Ten publishes in one write: one ack for 3..12, multiple.
	var batch []byte
	for i := range 10 {
		batch = append(batch, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.BasicPublish{RoutingKey: "routed"}))...)
		batch = append(batch, brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 1, noProps))...)
		batch = append(batch, brokertest.FrameBytes(frames.TypeBody, 1, []byte{byte('0' + i)})...)
	}
	r.Write(batch)
	var last uint64 = 2
	for last < 12 {
		a := brokertest.Expect[*amqp.BasicAck](r, 3*time.Second)
		if a.DeliveryTag <= last || (a.DeliveryTag > last+1 && !a.Multiple) {
			t.Fatalf("ack %+v after tag %d", a, last)
		}
		last = a.DeliveryTag
	}
}

// basic.nack with multiple and requeue puts every message up to the tag back,
// in order, redelivered (TestRabbitMQQueueNackMultipleRequeue of the
// amqp091-go suite asserts this only against RabbitMQ).
func TestNackMultipleRequeue(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "nack"))
	declare(t, ch, "nack", nil)
	for _, s := range []string{"1", "2", "3"} {
		publish(t, ch, "nack", []byte(s))
	}
	get(t, ch, "nack")
	m2 := get(t, ch, "nack")
	if err := m2.Nack(true, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1", "2", "3"} {
		d := get(t, ch, "nack")
		if string(d.Body) != want || d.Redelivered != (want != "3") {
			t.Fatalf("got %q redelivered %v, want %q redelivered %v", d.Body, d.Redelivered, want, want != "3")
		}
	}
	if _, ok, err := ch.Get("nack", false); ok || err != nil {
		t.Fatalf("queue not empty: %v %v", ok, err)
	}
}

// A message in a queue with x-message-ttl 100 is gone 200 ms later
// (TestRabbitMQQueueTTLGet of the suite, RabbitMQ only there).
func TestQueueTTLGet(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "ttl"))
	declare(t, ch, "ttl", amqp091.Table{"x-message-ttl": int32(100)})
	publish(t, ch, "ttl", []byte("ttl"))
	if d := get(t, ch, "ttl"); string(d.Body) != "ttl" {
		t.Fatalf("body %q", d.Body)
	}
	if err := ch.Reject(1, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, ok, err := ch.Get("ttl", false); ok || err != nil {
		t.Fatalf("message did not expire: ok %v err %v", ok, err)
	}
}

// basic.recover(requeue=false) closes the connection with 540
// NOT_IMPLEMENTED "requeue=false" (rabbit_channel); requeue=true redelivers.
func TestRecover(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "recover")
	ch := channel(t, c)
	declare(t, ch, "recover", nil)
	publish(t, ch, "recover", []byte("x"))
	get(t, ch, "recover")
	if err := ch.Recover(true); err != nil {
		t.Fatal(err)
	}
	if d := get(t, ch, "recover"); !d.Redelivered {
		t.Fatal("not redelivered after recover")
	}
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	err := ch.Recover(false)
	var e *amqp091.Error
	if !errors.As(err, &e) || e.Code != 540 {
		t.Fatalf("recover(false): %v", err)
	}
	wantAMQPError(t, closeErr(t, closed), 540, "NOT_IMPLEMENTED - requeue=false")
}

// Channel and connection errors of publishing, with RabbitMQ's texts.
func TestPublishErrors(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "errors")

	ch := channel(t, c)
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	_ = ch.PublishWithContext(context.Background(), "missing", "k", false, false, amqp091.Publishing{})
	wantAMQPError(t, closeErr(t, closed), 404, "NOT_FOUND - no exchange 'missing' in vhost '/'")

	ch = channel(t, c)
	closed = ch.NotifyClose(make(chan *amqp091.Error, 1))
	_ = ch.PublishWithContext(context.Background(), "", "k", false, false, amqp091.Publishing{UserId: "mallory"})
	wantAMQPError(t, closeErr(t, closed), 406, "PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user was 'guest'")

	ch = channel(t, c)
	if err := ch.PublishWithContext(context.Background(), "", "k", false, false, amqp091.Publishing{UserId: "guest"}); err != nil {
		t.Fatal(err)
	}
	closed = ch.NotifyClose(make(chan *amqp091.Error, 1))
	if err := ch.TxCommit(); err == nil {
		t.Fatal("tx.commit without tx.select succeeded")
	}
	wantAMQPError(t, closeErr(t, closed), 406, "PRECONDITION_FAILED - channel is not transactional")

	ch = channel(t, c)
	cclosed := c.NotifyClose(make(chan *amqp091.Error, 1))
	_ = ch.PublishWithContext(context.Background(), "", "k", false, true, amqp091.Publishing{})
	wantAMQPError(t, closeErr(t, cclosed), 540, "NOT_IMPLEMENTED - immediate=true")
}

// In a transaction, mandatory returns come at commit, before commit-ok;
// rollback drops the publishes.
func TestTransactionReturns(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "tx"))
	declare(t, ch, "tx", nil)
	returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
	if err := ch.Tx(); err != nil {
		t.Fatal(err)
	}
	publish(t, ch, "tx", []byte("dropped"))
	if err := ch.TxRollback(); err != nil {
		t.Fatal(err)
	}
	publish(t, ch, "tx", []byte("kept"))
	if err := ch.PublishWithContext(context.Background(), "", "nowhere", true, false, amqp091.Publishing{Body: []byte("back")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-returns:
		t.Fatalf("return before commit: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	if err := ch.TxCommit(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-returns:
		if r.ReplyCode != 312 || string(r.Body) != "back" {
			t.Fatalf("return %+v", r)
		}
	default:
		t.Fatal("no return before commit-ok")
	}
	if d := get(t, ch, "tx"); string(d.Body) != "kept" {
		t.Fatalf("body %q", d.Body)
	}
}

// Bodies of 0 octets (no body frame), 1 MB and 16 MB (split at frame_max)
// arrive intact through basic.deliver and basic.get-ok.
func TestBodySizes(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "bodies")
	ch := channel(t, c)
	declare(t, ch, "bodies", nil)
	msgs, err := ch.Consume("bodies", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1 << 20, 16 << 20} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i * 7)
		}
		publish(t, ch, "bodies", body)
		select {
		case d := <-msgs:
			if !bytes.Equal(d.Body, body) {
				t.Fatalf("%d-byte body came back as %d bytes, different", n, len(d.Body))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no delivery of the %d-byte body", n)
		}
	}
	ch2 := channel(t, c)
	declare(t, ch2, "bodies-get", nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	publish(t, ch2, "bodies-get", big)
	if d := get(t, ch2, "bodies-get"); !bytes.Equal(d.Body, big) {
		t.Fatalf("get-ok body of %d bytes differs", len(d.Body))
	}
}

// Consume-ok comes before the first delivery; consumers share a queue round
// robin; a broker-side cancel reaches a client that announced
// consumer_cancel_notify.
func TestConsumeCancelNotify(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "consume")
	ch := channel(t, c)
	declare(t, ch, "rr", nil)
	for i := range 4 {
		publish(t, ch, "rr", []byte(fmt.Sprint(i)))
	}
	a, err := ch.Consume("rr", "a", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		select {
		case d := <-a:
			if string(d.Body) != fmt.Sprint(i) {
				t.Fatalf("delivery %d: %q", i, d.Body)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("delivery %d missing", i)
		}
	}
	cancels := ch.NotifyCancel(make(chan string, 1))
	other := channel(t, c)
	if _, err := other.QueueDelete("rr", false, false, false); err != nil {
		t.Fatal(err)
	}
	select {
	case tag := <-cancels:
		if tag != "a" {
			t.Fatalf("cancelled %q", tag)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no basic.cancel")
	}
}
