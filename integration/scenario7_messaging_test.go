//go:build integration

package integration

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// parityCase is one scenario of TestMessagingParity: run drives the broker
// with amqp091-go and describes what it saw; want is what RabbitMQ 3.10.8
// shows (docs/rabbitmq-observed.md, section 8), beatmq what beatmq shows
// where it differs on purpose ("" when it does not).
type parityCase struct {
	name         string
	run          func(p *parity) string
	want, beatmq string
}

// parity is a scenario's access to the broker under test.
type parity struct {
	t   *testing.T
	url string
}

func (p *parity) dial() *amqp091.Connection {
	p.t.Helper()
	c, err := amqp091.Dial(p.url)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (p *parity) channel(c *amqp091.Connection) *amqp091.Channel {
	p.t.Helper()
	ch, err := c.Channel()
	if err != nil {
		p.t.Fatal(err)
	}
	return ch
}

// closeText runs f on a channel of a new connection and returns "CODE TEXT"
// of the error that closed it (f's own or the close after an asynchronous
// method), or "ok".
func (p *parity) closeText(f func(ch *amqp091.Channel) error) string {
	c := p.dial()
	ch := p.channel(c)
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	err := f(ch)
	if err == nil {
		select {
		case e := <-closed:
			err = e
		case <-time.After(300 * time.Millisecond):
			return "ok"
		}
	}
	var e *amqp091.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%d %s", e.Code, e.Reason)
	}
	return err.Error()
}

func recv(ds <-chan amqp091.Delivery) (amqp091.Delivery, bool) {
	select {
	case d, ok := <-ds:
		return d, ok
	case <-time.After(2 * time.Second):
		return amqp091.Delivery{}, false
	}
}

// getAll takes every message of queue and describes each as body:count
// (x-delivery-count, "-" when absent), "*" in front when redelivered.
func getAll(ch *amqp091.Channel, queue string) string {
	var out []string
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil || !ok {
			return strings.Join(out, " ")
		}
		out = append(out, describeCount(d))
	}
}

func describeCount(d amqp091.Delivery) string {
	n := "-"
	if v, ok := d.Headers["x-delivery-count"]; ok {
		n = fmt.Sprint(v)
	}
	s := fmt.Sprintf("%s:%s", d.Body, n)
	if d.Redelivered {
		s = "*" + s
	}
	return s
}

const replyTo = "amq.rabbitmq.reply-to"

func consumeReply(tag string, noAck bool) func(ch *amqp091.Channel) error {
	return func(ch *amqp091.Channel) error {
		_, err := ch.Consume(replyTo, tag, noAck, false, false, false, nil)
		return err
	}
}

func declareQ(name string, durable bool, args amqp091.Table) func(ch *amqp091.Channel) error {
	return func(ch *amqp091.Channel) error {
		_, err := ch.QueueDeclare(name, durable, false, false, false, args)
		return err
	}
}

func both(a, b func(ch *amqp091.Channel) error) func(ch *amqp091.Channel) error {
	return func(ch *amqp091.Channel) error {
		if err := a(ch); err != nil {
			return err
		}
		return b(ch)
	}
}

var qq = amqp091.Table{"x-queue-type": "quorum"}

func withQQ(extra amqp091.Table) amqp091.Table {
	t := amqp091.Table{"x-queue-type": "quorum"}
	for k, v := range extra {
		t[k] = v
	}
	return t
}

// rpc runs a request and replies through amq.rabbitmq.reply-to and
// describes what the client saw.
func rpc(p *parity) string {
	c := p.dial()
	cli, srv := p.channel(c), p.channel(c)
	_, _ = srv.QueueDeclare("p7-rpc", false, true, false, false, nil)
	reqs, _ := srv.Consume("p7-rpc", "", true, false, false, false, nil)
	_, _ = cli.QueueDeclare("p7-side", false, true, false, false, nil)
	_ = cli.Publish("", "p7-side", false, false, amqp091.Publishing{Body: []byte("g")})
	time.Sleep(50 * time.Millisecond)
	g1, _, _ := cli.Get("p7-side", true)
	replies, err := cli.Consume(replyTo, "rt", true, false, false, false, nil)
	if err != nil {
		return err.Error()
	}
	_ = cli.Publish("", "p7-rpc", false, false, amqp091.Publishing{ReplyTo: replyTo, CorrelationId: "c1"})
	req, _ := recv(reqs)
	name := req.ReplyTo
	_ = srv.Publish("", name, false, false, amqp091.Publishing{CorrelationId: "c1", Body: []byte("r1")})
	r1, _ := recv(replies)
	_ = srv.Publish("", "nowhere", false, false, amqp091.Publishing{Headers: amqp091.Table{"CC": []any{name}}, Body: []byte("r2")})
	r2, _ := recv(replies)
	_ = srv.Publish("", "nowhere", false, false, amqp091.Publishing{Headers: amqp091.Table{"BCC": []any{name}}, Body: []byte("r3")})
	r3, _ := recv(replies)
	_ = cli.Publish("", "p7-side", false, false, amqp091.Publishing{Body: []byte("g")})
	time.Sleep(50 * time.Millisecond)
	g2, _, _ := cli.Get("p7-side", true)
	declared, derr := p.channel(c).QueueDeclarePassive(name, false, false, false, false, nil)
	return fmt.Sprintf("prefix %v; get %d; reply %s ex=%q rk=name:%v ctag=%s tag=%d redelivered=%v corr=%s; CC rk=%s %s; BCC headers=%d %s; get %d; declare %v %d/%d",
		strings.HasPrefix(name, replyTo+"."), g1.DeliveryTag,
		r1.Body, r1.Exchange, r1.RoutingKey == name, r1.ConsumerTag, r1.DeliveryTag, r1.Redelivered, r1.CorrelationId,
		r2.RoutingKey, r2.Body, len(r3.Headers), r3.Body, g2.DeliveryTag, derr == nil, declared.Messages, declared.Consumers)
}

// replyReturns publishes mandatory replies to a live and to a gone reply
// consumer on a confirming channel.
func replyReturns(p *parity) string {
	c := p.dial()
	cli, srv := p.channel(c), p.channel(c)
	_, _ = srv.QueueDeclare("p7-rpc2", false, true, false, false, nil)
	reqs, _ := srv.Consume("p7-rpc2", "", true, false, false, false, nil)
	replies, _ := cli.Consume(replyTo, "", true, false, false, false, nil)
	_ = cli.Publish("", "p7-rpc2", false, false, amqp091.Publishing{ReplyTo: replyTo})
	req, _ := recv(reqs)
	_ = srv.Confirm(false)
	returns := srv.NotifyReturn(make(chan amqp091.Return, 2))
	confirms := srv.NotifyPublish(make(chan amqp091.Confirmation, 2))
	var out []string
	for _, body := range []string{"live", "gone"} {
		if body == "gone" {
			_ = cli.Close()
			time.Sleep(50 * time.Millisecond)
		}
		_ = srv.Publish("", req.ReplyTo, true, false, amqp091.Publishing{Body: []byte(body)})
		s := body + ":"
		if body == "live" {
			d, ok := recv(replies)
			s += fmt.Sprintf(" delivered %v %s;", ok, d.Body)
		}
		select {
		case r := <-returns:
			s += fmt.Sprintf(" returned %d %s rk=name:%v;", r.ReplyCode, r.ReplyText, r.RoutingKey == req.ReplyTo)
		case <-time.After(500 * time.Millisecond):
			s += " not returned;"
		}
		k := <-confirms
		s += fmt.Sprintf(" confirm %v %d", k.Ack, k.DeliveryTag)
		out = append(out, s)
	}
	return strings.Join(out, " | ")
}

// ccCopies publishes with CC and BCC to a direct exchange and counts the
// copies per queue.
func ccCopies(p *parity) string {
	ch := p.channel(p.dial())
	_ = ch.ExchangeDeclare("p7-x", "direct", false, true, false, false, nil)
	var out []string
	for _, q := range []string{"a", "b", "c"} {
		_, _ = ch.QueueDeclare("p7-cc-"+q, false, true, false, false, nil)
		_ = ch.QueueBind("p7-cc-"+q, "k"+q, "p7-x", false, nil)
	}
	for _, h := range []amqp091.Table{
		{"CC": []any{"kb"}, "BCC": []any{"kc"}},
		{"CC": []any{"ka", "ka"}, "BCC": []any{"ka"}},
		{"CC": []any{int32(5), "kb"}, "BCC": []any{}},
	} {
		_ = ch.Publish("p7-x", "ka", false, false, amqp091.Publishing{Headers: h})
		time.Sleep(50 * time.Millisecond)
		var row []string
		for _, q := range []string{"a", "b", "c"} {
			n := 0
			var keys []string
			for {
				d, ok, _ := ch.Get("p7-cc-"+q, true)
				if !ok {
					break
				}
				n++
				keys = keys[:0]
				for k := range d.Headers {
					keys = append(keys, k)
				}
				sort.Strings(keys)
			}
			row = append(row, fmt.Sprintf("%s=%d%v", q, n, keys))
		}
		out = append(out, strings.Join(row, " "))
	}
	return strings.Join(out, " | ")
}

// ccDeadLetter dead-letters a message published with CC and BCC from a
// queue without and one with a dead-letter routing key.
func ccDeadLetter(p *parity) string {
	ch := p.channel(p.dial())
	_ = ch.ExchangeDeclare("p7-dlx", "direct", false, true, false, false, nil)
	for _, k := range []string{"cc", "bcc", "dlrk"} {
		_, _ = ch.QueueDeclare("p7-by-"+k, false, true, false, false, nil)
		_ = ch.QueueBind("p7-by-"+k, k, "p7-dlx", false, nil)
	}
	_, _ = ch.QueueDeclare("p7-src", false, true, false, false, amqp091.Table{"x-dead-letter-exchange": "p7-dlx"})
	_, _ = ch.QueueDeclare("p7-src-rk", false, true, false, false, amqp091.Table{"x-dead-letter-exchange": "p7-dlx", "x-dead-letter-routing-key": "dlrk"})
	_ = ch.Publish("", "p7-src", false, false, amqp091.Publishing{Headers: amqp091.Table{"CC": []any{"cc"}, "BCC": []any{"bcc", "p7-src-rk"}}})
	time.Sleep(50 * time.Millisecond)
	for _, q := range []string{"p7-src", "p7-src-rk"} {
		if d, ok, _ := ch.Get(q, false); ok {
			_ = d.Reject(false)
		}
	}
	time.Sleep(50 * time.Millisecond)
	var out []string
	for _, k := range []string{"cc", "bcc", "dlrk"} {
		d, ok, _ := ch.Get("p7-by-"+k, true)
		keys := ""
		if deaths, _ := d.Headers["x-death"].([]any); len(deaths) == 1 {
			keys = fmt.Sprint(deaths[0].(amqp091.Table)["routing-keys"])
		}
		_, cc := d.Headers["CC"]
		out = append(out, fmt.Sprintf("%s:%v keys=%s CC=%v", k, ok, keys, cc))
	}
	return strings.Join(out, " ")
}

// deliveryLimit nacks a message of a quorum queue with x-delivery-limit 2
// until it is dead-lettered.
func deliveryLimit(p *parity) string {
	ch := p.channel(p.dial())
	_ = ch.ExchangeDeclare("p7-qdlx", "fanout", false, true, false, false, nil)
	_, _ = ch.QueueDeclare("p7-dead", false, true, false, false, nil)
	_ = ch.QueueBind("p7-dead", "", "p7-qdlx", false, nil)
	_, _ = ch.QueueDelete("p7-lim", false, false, false)
	if _, err := ch.QueueDeclare("p7-lim", true, false, false, false, withQQ(amqp091.Table{"x-delivery-limit": int32(2), "x-dead-letter-exchange": "p7-qdlx"})); err != nil {
		return err.Error()
	}
	defer ch.QueueDelete("p7-lim", false, false, false)
	_ = ch.Publish("", "p7-lim", false, false, amqp091.Publishing{Body: []byte("m")})
	time.Sleep(50 * time.Millisecond)
	var out []string
	for range 4 {
		d, ok, _ := ch.Get("p7-lim", false)
		if !ok {
			break
		}
		out = append(out, describeCount(d))
		_ = d.Nack(false, true)
	}
	time.Sleep(50 * time.Millisecond)
	d, ok, _ := ch.Get("p7-dead", true)
	_, count := d.Headers["x-delivery-count"]
	return fmt.Sprintf("%s; dead %v %v count-header=%v", strings.Join(out, " "), ok, d.Headers["x-first-death-reason"], count)
}

// requeuePlaces requeues the first of three messages of quorum queues in
// three ways and lists the queues' order afterwards.
func requeuePlaces(p *parity) string {
	c := p.dial()
	ch := p.channel(c)
	var out []string
	for _, v := range []struct {
		name  string
		args  amqp091.Table
		close bool
	}{{"nack", amqp091.Table{}, false}, {"nack-limit", amqp091.Table{"x-delivery-limit": int32(10)}, false}, {"close", amqp091.Table{}, true}} {
		q := "p7-order-" + v.name
		_, _ = ch.QueueDelete(q, false, false, false)
		if _, err := ch.QueueDeclare(q, true, false, false, false, withQQ(v.args)); err != nil {
			return err.Error()
		}
		for _, b := range []string{"o1", "o2", "o3"} {
			_ = ch.Publish("", q, false, false, amqp091.Publishing{Body: []byte(b)})
		}
		time.Sleep(50 * time.Millisecond)
		other := p.channel(c)
		d, _, _ := other.Get(q, false)
		if v.close {
			_ = other.Close()
		} else {
			_ = d.Nack(false, true)
		}
		time.Sleep(50 * time.Millisecond)
		out = append(out, v.name+": "+getAll(ch, q))
		_, _ = ch.QueueDelete(q, false, false, false)
	}
	return strings.Join(out, " | ")
}

var parityCases = []parityCase{
	{name: "reply consume with acks", run: func(p *parity) string { return p.closeText(consumeReply("", false)) },
		want: "406 PRECONDITION_FAILED - reply consumer cannot acknowledge"},
	{name: "second reply consumer", run: func(p *parity) string { return p.closeText(both(consumeReply("a", true), consumeReply("b", true))) },
		want: "406 PRECONDITION_FAILED - reply consumer already set"},
	{name: "reply tag in use", run: func(p *parity) string {
		return p.closeText(both(declareQ("p7-t", false, nil), both(func(ch *amqp091.Channel) error {
			_, err := ch.Consume("p7-t", "t1", true, false, false, false, nil)
			return err
		}, consumeReply("t1", true))))
	}, want: "530 NOT_ALLOWED - attempt to reuse consumer tag 't1'"},
	{name: "reply_to without consumer", run: func(p *parity) string {
		return p.closeText(func(ch *amqp091.Channel) error {
			return ch.Publish("", "x", false, false, amqp091.Publishing{ReplyTo: replyTo, UserId: "bob"})
		})
	}, want: "406 PRECONDITION_FAILED - fast reply consumer does not exist"},
	{name: "declare the pseudo-queue", run: func(p *parity) string {
		q, err := p.channel(p.dial()).QueueDeclarePassive(replyTo, false, false, false, false, nil)
		return fmt.Sprint(q.Name, " ", q.Messages, " ", q.Consumers, " ", err)
	}, want: "amq.rabbitmq.reply-to 0 1 <nil>"},
	{name: "declare an unknown reply name", run: func(p *parity) string { return p.closeText(declareQ(replyTo+".nothing", false, nil)) },
		want: "404 NOT_FOUND - no queue 'amq.rabbitmq.reply-to.nothing' in vhost '/'"},
	{name: "rpc", run: rpc,
		want: `prefix true; get 1; reply r1 ex="" rk=name:true ctag=rt tag=2 redelivered=false corr=c1; CC rk=nowhere r2; BCC headers=0 r3; get 2; declare true 0/1`},
	{name: "mandatory replies", run: replyReturns,
		want: "live: delivered true live; returned 312 NO_ROUTE rk=name:true; confirm true 1 | gone: returned 312 NO_ROUTE rk=name:true; confirm true 2"},
	{name: "CC and BCC copies", run: ccCopies,
		want: "a=1[CC] b=1[CC] c=1[CC] | a=1[CC] b=0[] c=0[] | a=1[CC] b=1[CC] c=0[]"},
	{name: "BCC of a returned message", run: func(p *parity) string {
		ch := p.channel(p.dial())
		returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
		_ = ch.Publish("amq.direct", "nowhere", true, false, amqp091.Publishing{Headers: amqp091.Table{"BCC": []any{"x"}, "CC": []any{"y"}}})
		select {
		case r := <-returns:
			return fmt.Sprintf("%d %s %v", r.ReplyCode, r.ReplyText, r.Headers)
		case <-time.After(2 * time.Second):
			return "not returned"
		}
	}, want: "312 NO_ROUTE map[CC:[y]]"},
	{name: "CC not an array", run: func(p *parity) string {
		return p.closeText(func(ch *amqp091.Channel) error {
			return ch.Publish("amq.direct", "k", false, false, amqp091.Publishing{Headers: amqp091.Table{"CC": "x"}})
		})
	}, want: `406 PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}`},
	{name: "CC and BCC dead-lettered", run: ccDeadLetter,
		want: "cc:true keys=[p7-src cc] CC=true bcc:true keys=[p7-src cc] CC=true dlrk:true keys=[p7-src cc] CC=false"},
	{name: "quorum non-durable", run: func(p *parity) string { return p.closeText(declareQ("p7-q1", false, qq)) },
		want: "406 PRECONDITION_FAILED - invalid property 'non-durable' for queue 'p7-q1' in vhost '/'"},
	{name: "quorum x-max-priority", run: func(p *parity) string {
		return p.closeText(declareQ("p7-q2", true, withQQ(amqp091.Table{"x-max-priority": int32(5)})))
	}, want: "406 PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'p7-q2' in vhost '/' of queue type rabbit_quorum_queue"},
	{name: "classic x-delivery-limit", run: func(p *parity) string {
		return p.closeText(declareQ("p7-q3", true, amqp091.Table{"x-delivery-limit": int32(5)}))
	}, want: "406 PRECONDITION_FAILED - invalid arg 'x-delivery-limit' for queue 'p7-q3' in vhost '/' of queue type rabbit_classic_queue"},
	{name: "unknown queue type", run: func(p *parity) string {
		return p.closeText(declareQ("p7-q4", true, amqp091.Table{"x-queue-type": "foo"}))
	}, want: `406 PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'p7-q4' in vhost '/': "unsupported queue type 'foo'"`},
	{name: "server-named quorum", run: func(p *parity) string { return p.closeText(declareQ("", true, qq)) },
		want: "406 PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue"},
	{name: "quorum redeclared classic", run: func(p *parity) string {
		s := p.closeText(both(declareQ("p7-q5", true, qq), declareQ("p7-q5", true, amqp091.Table{"x-queue-type": "classic"})))
		p.closeText(func(ch *amqp091.Channel) error { _, err := ch.QueueDelete("p7-q5", false, false, false); return err })
		return s
	}, want: "406 PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'p7-q5' in vhost '/': received 'classic' but current is 'quorum'"},
	{name: "quorum global qos", run: func(p *parity) string {
		s := p.closeText(both(declareQ("p7-q6", true, qq), func(ch *amqp091.Channel) error {
			if err := ch.Qos(5, 0, true); err != nil {
				return err
			}
			_, err := ch.Consume("p7-q6", "", false, false, false, false, nil)
			return err
		}))
		p.closeText(func(ch *amqp091.Channel) error { _, err := ch.QueueDelete("p7-q6", false, false, false); return err })
		return s
	}, want: "540 NOT_IMPLEMENTED - queue 'p7-q6' in vhost '/' does not support global qos"},
	{name: "stream", run: func(p *parity) string {
		s := p.closeText(declareQ("p7-s", true, amqp091.Table{"x-queue-type": "stream"}))
		p.closeText(func(ch *amqp091.Channel) error { _, err := ch.QueueDelete("p7-s", false, false, false); return err })
		return s
	}, want: "ok", beatmq: "406 PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'p7-s' in vhost '/': stream queues are not supported by beatmq"},
	{name: "quorum delivery limit", run: deliveryLimit,
		want: "m:0 *m:1 *m:2; dead true delivery_limit count-header=false"},
	{name: "quorum requeue places", run: requeuePlaces,
		want: "nack: o2:0 o3:0 *o1:1 | nack-limit: *o1:1 o2:0 o3:0 | close: *o1:1 o2:0 o3:0"},
}

// TestMessagingParity is scenario 7: direct reply-to, sender-selected
// distribution (CC and BCC) and quorum queues through amqp091-go, each
// observation compared with RabbitMQ 3.10.8's (the same test passes with
// BEATMQ_TARGET=rabbitmq, `make interop-rabbitmq`).
func TestMessagingParity(t *testing.T) {
	b := broker(t)
	url := "amqp://guest:guest@" + b.Addr() + "/"
	for _, c := range parityCases {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			if b.Kind() == "beatmq" && c.beatmq != "" {
				want = c.beatmq
			}
			if got := c.run(&parity{t: t, url: url}); got != want {
				t.Errorf("%s:\n got  %s\n want %s", b.Kind(), got, want)
			}
		})
	}
}
