package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

const replyTo = "amq.rabbitmq.reply-to"

// pub publishes p on ch to exchange with key, failing the test on a client
// error.
func pub(t *testing.T, ch *amqp091.Channel, exchange, key string, mandatory bool, p amqp091.Publishing) {
	t.Helper()
	if err := ch.PublishWithContext(context.Background(), exchange, key, mandatory, false, p); err != nil {
		t.Fatalf("publish to %q %q: %v", exchange, key, err)
	}
}

// next waits for a delivery on ds.
func next(t *testing.T, ds <-chan amqp091.Delivery) amqp091.Delivery {
	t.Helper()
	select {
	case d, ok := <-ds:
		if !ok {
			t.Fatal("deliveries closed")
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	return amqp091.Delivery{}
}

// none checks that nothing arrives on ds for a short while.
func none[T any](t *testing.T, ds <-chan T, what string) {
	t.Helper()
	select {
	case d := <-ds:
		t.Fatalf("unexpected %s: %+v", what, d)
	case <-time.After(150 * time.Millisecond):
	}
}

// chanError runs f on a new channel of a new connection to b and returns
// the error that closed the channel (or, for a hard error, the
// connection): f's own error, or the close that follows an asynchronous
// method such as basic.publish.
func chanError(t *testing.T, b *brokertest.Broker, f func(ch *amqp091.Channel) error) *amqp091.Error {
	t.Helper()
	c := dial(t, b, t.Name())
	ch := channel(t, c)
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	if err := f(ch); err != nil {
		if e, ok := err.(*amqp091.Error); ok {
			return e
		}
		t.Fatalf("%v", err)
	}
	return closeErr(t, closed)
}

// rpcPair is a client channel consuming amq.rabbitmq.reply-to and a server
// channel consuming the request queue "rpc".
type rpcPair struct {
	cli, srv *amqp091.Channel
	replies  <-chan amqp091.Delivery
	requests <-chan amqp091.Delivery
	tag      string
}

func newRPCPair(t *testing.T, c *amqp091.Connection) *rpcPair {
	t.Helper()
	p := &rpcPair{cli: channel(t, c), srv: channel(t, c), tag: "replies"}
	declare(t, p.srv, "rpc", nil)
	var err error
	if p.requests, err = p.srv.Consume("rpc", "", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if p.replies, err = p.cli.Consume(replyTo, p.tag, true, false, false, false, nil); err != nil {
		t.Fatalf("consume %s: %v", replyTo, err)
	}
	return p
}

// request publishes a request with reply_to amq.rabbitmq.reply-to and
// returns the reply name the server sees.
func (p *rpcPair) request(t *testing.T) string {
	t.Helper()
	pub(t, p.cli, "", "rpc", false, amqp091.Publishing{ReplyTo: replyTo, CorrelationId: "c1", Body: []byte("req")})
	req := next(t, p.requests)
	if !strings.HasPrefix(req.ReplyTo, replyTo+".") || len(req.ReplyTo) < len(replyTo)+17 || req.CorrelationId != "c1" {
		t.Fatalf("request reply_to %q, correlation id %q", req.ReplyTo, req.CorrelationId)
	}
	return req.ReplyTo
}

func TestDirectReplyToRoundTrip(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "rpc")
	p := newRPCPair(t, c)
	// A basic.get first, so that the client channel's next delivery tag is 2.
	declare(t, p.cli, "side", nil)
	publish(t, p.cli, "side", []byte("g1"))
	if d := get(t, p.cli, "side"); d.DeliveryTag != 1 {
		t.Fatalf("get tag %d", d.DeliveryTag)
	}
	name := p.request(t)
	if other := p.request(t); other != name {
		t.Fatalf("reply names differ: %q, %q", name, other)
	}

	pub(t, p.srv, "", name, false, amqp091.Publishing{CorrelationId: "c1", Body: []byte("rep1")})
	d := next(t, p.replies)
	if d.Exchange != "" || d.RoutingKey != name || d.ConsumerTag != p.tag || d.Redelivered || string(d.Body) != "rep1" || d.CorrelationId != "c1" {
		t.Fatalf("reply: exchange %q key %q tag %q redelivered %v body %q correlation %q",
			d.Exchange, d.RoutingKey, d.ConsumerTag, d.Redelivered, d.Body, d.CorrelationId)
	}
	// RabbitMQ 3.10.8 gives a reply the channel's next delivery tag without
	// taking it: every reply and the next get carry 2.
	pub(t, p.srv, "", name, false, amqp091.Publishing{Body: []byte("rep2")})
	if d := next(t, p.replies); d.DeliveryTag != 2 || string(d.Body) != "rep2" {
		t.Fatalf("second reply: tag %d body %q, want 2 rep2", d.DeliveryTag, d.Body)
	}
	publish(t, p.cli, "side", []byte("g2"))
	if d := get(t, p.cli, "side"); d.DeliveryTag != 2 {
		t.Fatalf("get after replies: tag %d, want 2", d.DeliveryTag)
	}

	// Through CC and BCC of the default exchange: the routing key stays the
	// publish's, BCC is removed.
	pub(t, p.srv, "", "nowhere", false, amqp091.Publishing{Headers: amqp091.Table{"CC": []any{name}}, Body: []byte("cc")})
	if d := next(t, p.replies); d.RoutingKey != "nowhere" || string(d.Body) != "cc" {
		t.Fatalf("reply via CC: key %q body %q", d.RoutingKey, d.Body)
	}
	pub(t, p.srv, "", "nowhere", false, amqp091.Publishing{Headers: amqp091.Table{"BCC": []any{name}}, Body: []byte("bcc")})
	if d := next(t, p.replies); string(d.Body) != "bcc" || len(d.Headers) != 0 {
		t.Fatalf("reply via BCC: body %q headers %v", d.Body, d.Headers)
	}
	// Only the default exchange knows reply names.
	pub(t, p.srv, "amq.direct", name, false, amqp091.Publishing{Body: []byte("direct")})
	none(t, p.replies, "reply through amq.direct")

	// In a transaction a reply goes at once, as RabbitMQ routes it at publish.
	tx := channel(t, c)
	if err := tx.Tx(); err != nil {
		t.Fatal(err)
	}
	pub(t, tx, "", name, false, amqp091.Publishing{Body: []byte("tx")})
	if d := next(t, p.replies); string(d.Body) != "tx" {
		t.Fatalf("reply in tx: %q", d.Body)
	}
	if err := tx.TxCommit(); err != nil {
		t.Fatal(err)
	}

	// The pseudo-queue and a live reply name exist: 0 messages, 1 consumer.
	for _, q := range []string{replyTo, name} {
		for _, passive := range []bool{true, false} {
			ch := channel(t, c)
			var got amqp091.Queue
			var err error
			if passive {
				got, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
			} else {
				got, err = ch.QueueDeclare(q, false, false, false, false, nil)
			}
			if err != nil || got.Name != q || got.Messages != 0 || got.Consumers != 1 {
				t.Fatalf("declare %q passive=%v: %+v, %v", q, passive, got, err)
			}
			_ = ch.Close()
		}
	}

	// Cancelled: the name is gone and reply_to is refused again.
	if err := p.cli.Cancel(p.tag, false); err != nil {
		t.Fatal(err)
	}
	e := chanError(t, b, func(ch *amqp091.Channel) error {
		_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
		return err
	})
	wantAMQPError(t, e, 404, "NOT_FOUND - no queue '"+name+"' in vhost '/'")
	closed := p.cli.NotifyClose(make(chan *amqp091.Error, 1))
	pub(t, p.cli, "", "rpc", false, amqp091.Publishing{ReplyTo: replyTo})
	wantAMQPError(t, closeErr(t, closed), 406, "PRECONDITION_FAILED - fast reply consumer does not exist")
}

// RabbitMQ 3.10.8 does not count a reply as routed: a mandatory reply is
// returned (312 NO_ROUTE) whether or not it was delivered, and confirmed
// at once after the return.
func TestDirectReplyToMandatoryAndConfirms(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "rpc")
	p := newRPCPair(t, c)
	name := p.request(t)
	srv := channel(t, c)
	if err := srv.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := srv.NotifyReturn(make(chan amqp091.Return, 4))
	confirms := srv.NotifyPublish(make(chan amqp091.Confirmation, 4))

	pub(t, srv, "", name, false, amqp091.Publishing{Body: []byte("plain")})
	if k := <-confirms; !k.Ack || k.DeliveryTag != 1 {
		t.Fatalf("confirm %+v", k)
	}
	if d := next(t, p.replies); string(d.Body) != "plain" {
		t.Fatalf("reply %q", d.Body)
	}
	none(t, returns, "return")

	pub(t, srv, "", name, true, amqp091.Publishing{Body: []byte("live")})
	if d := next(t, p.replies); string(d.Body) != "live" {
		t.Fatalf("reply %q", d.Body)
	}
	r := <-returns
	if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.RoutingKey != name || string(r.Body) != "live" {
		t.Fatalf("return %+v", r)
	}
	if k := <-confirms; !k.Ack || k.DeliveryTag != 2 {
		t.Fatalf("confirm %+v", k)
	}

	// The consumer's channel closes: the name leads nowhere.
	_ = p.cli.Close()
	pub(t, srv, "", name, true, amqp091.Publishing{Body: []byte("late")})
	r = <-returns
	if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.Exchange != "" || r.RoutingKey != name || string(r.Body) != "late" {
		t.Fatalf("return %+v", r)
	}
	if k := <-confirms; !k.Ack || k.DeliveryTag != 3 {
		t.Fatalf("confirm %+v", k)
	}
}

func TestDirectReplyToErrors(t *testing.T) {
	b := brokertest.Run(t)
	consume := func(tag string, noAck bool) func(ch *amqp091.Channel) error {
		return func(ch *amqp091.Channel) error {
			_, err := ch.Consume(replyTo, tag, noAck, false, false, false, nil)
			return err
		}
	}
	declarePassive := func(name string) func(ch *amqp091.Channel) error {
		return func(ch *amqp091.Channel) error {
			_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
			return err
		}
	}
	cases := []struct {
		name string
		f    func(ch *amqp091.Channel) error
		code int
		text string
	}{
		{"consume with acks", consume("", false), 406, "PRECONDITION_FAILED - reply consumer cannot acknowledge"},
		{"second consumer", func(ch *amqp091.Channel) error {
			if err := consume("a", true)(ch); err != nil {
				return err
			}
			return consume("b", true)(ch)
		}, 406, "PRECONDITION_FAILED - reply consumer already set"},
		{"second consumer with acks", func(ch *amqp091.Channel) error {
			if err := consume("a", true)(ch); err != nil {
				return err
			}
			return consume("b", false)(ch)
		}, 406, "PRECONDITION_FAILED - reply consumer cannot acknowledge"},
		{"tag of a consumer", func(ch *amqp091.Channel) error {
			if _, err := ch.QueueDeclare("q1", false, true, false, false, nil); err != nil {
				return err
			}
			if _, err := ch.Consume("q1", "t1", true, false, false, false, nil); err != nil {
				return err
			}
			return consume("t1", true)(ch)
		}, 530, "NOT_ALLOWED - attempt to reuse consumer tag 't1'"},
		{"reply_to without consumer", func(ch *amqp091.Channel) error {
			return ch.PublishWithContext(context.Background(), "", "q", false, false, amqp091.Publishing{ReplyTo: replyTo})
		}, 406, "PRECONDITION_FAILED - fast reply consumer does not exist"},
		{"missing exchange first", func(ch *amqp091.Channel) error {
			return ch.PublishWithContext(context.Background(), "nox", "q", false, false, amqp091.Publishing{ReplyTo: replyTo})
		}, 404, "NOT_FOUND - no exchange 'nox' in vhost '/'"},
		{"reply_to before user_id", func(ch *amqp091.Channel) error {
			return ch.PublishWithContext(context.Background(), "", "q", false, false, amqp091.Publishing{ReplyTo: replyTo, UserId: "bob"})
		}, 406, "PRECONDITION_FAILED - fast reply consumer does not exist"},
		{"other name", declarePassive("amq.rabbitmq.reply-tox"), 404, "NOT_FOUND - no queue 'amq.rabbitmq.reply-tox' in vhost '/'"},
		{"unknown reply name", declarePassive("amq.rabbitmq.reply-to.garbage"), 404, "NOT_FOUND - no queue 'amq.rabbitmq.reply-to.garbage' in vhost '/'"},
		{"get", func(ch *amqp091.Channel) error { _, _, err := ch.Get(replyTo, true); return err }, 404, "NOT_FOUND - no queue 'amq.rabbitmq.reply-to' in vhost '/'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantAMQPError(t, chanError(t, b, c.f), c.code, c.text)
		})
	}
}

// A normal consumer may take the reply consumer's tag, and basic.cancel of
// that tag cancels the reply consumer first, as in RabbitMQ.
func TestDirectReplyToTagShared(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "tags")
	ch := channel(t, c)
	declare(t, ch, "q", nil)
	if _, err := ch.Consume(replyTo, "t", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("q", "t", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Cancel("t", false); err != nil {
		t.Fatal(err)
	}
	// The queue's consumer is still there (amqp091-go forgot both).
	for _, q := range b.Server().Queues() {
		if q.Name == "q" && q.Consumers != 1 {
			t.Fatalf("queue q has %d consumers, want 1", q.Consumers)
		}
	}
	// The reply consumer is not.
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	pub(t, ch, "", "q", false, amqp091.Publishing{ReplyTo: replyTo})
	wantAMQPError(t, closeErr(t, closed), 406, "PRECONDITION_FAILED - fast reply consumer does not exist")
}
