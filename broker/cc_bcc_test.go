package broker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// counts gets every message of queues and returns, per queue, how many
// there were and the headers of the last one.
func counts(t *testing.T, ch *amqp091.Channel, queues ...string) (map[string]int, map[string]amqp091.Table) {
	t.Helper()
	n := map[string]int{}
	h := map[string]amqp091.Table{}
	for _, q := range queues {
		for {
			d, ok, err := ch.Get(q, true)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			n[q]++
			h[q] = d.Headers
		}
	}
	return n, h
}

func TestSenderSelectedDistribution(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "cc"))
	for _, x := range []struct{ name, kind string }{{"d", "direct"}, {"t", "topic"}, {"f", "fanout"}, {"h", "headers"}} {
		if err := ch.ExchangeDeclare(x.name, x.kind, false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	qs := []string{"qa", "qb", "qc"}
	for _, q := range qs {
		declare(t, ch, q, nil)
		for _, bind := range [][2]string{{"d", "k" + q[1:]}, {"t", "t." + q[1:]}, {"f", ""}} {
			if err := ch.QueueBind(q, bind[1], bind[0], false, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := ch.QueueBind("qa", "", "h", false, amqp091.Table{"x-match": "any", "foo": "bar"}); err != nil {
		t.Fatal(err)
	}
	returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
	cases := []struct {
		name, exchange, key string
		headers             amqp091.Table
		mandatory           bool
		want                map[string]int
		returned            bool
	}{
		{"cc and bcc", "d", "ka", amqp091.Table{"CC": []any{"kb"}, "BCC": []any{"kc"}}, false, map[string]int{"qa": 1, "qb": 1, "qc": 1}, false},
		{"one copy per queue", "d", "ka", amqp091.Table{"CC": []any{"ka", "ka"}, "BCC": []any{"ka"}}, false, map[string]int{"qa": 1}, false},
		{"non-strings ignored", "d", "zz", amqp091.Table{"CC": []any{int32(5), "kb"}}, false, map[string]int{"qb": 1}, false},
		{"topic", "t", "t.a", amqp091.Table{"CC": []any{"t.b", "t.*"}}, false, map[string]int{"qa": 1, "qb": 1}, false},
		{"fanout", "f", "x", amqp091.Table{"CC": []any{"y", "z"}}, false, map[string]int{"qa": 1, "qb": 1, "qc": 1}, false},
		{"headers", "h", "x", amqp091.Table{"foo": "bar", "CC": []any{"y"}}, false, map[string]int{"qa": 1}, false},
		{"default exchange", "", "qa", amqp091.Table{"CC": []any{"qb"}, "BCC": []any{"qc", "qa"}}, false, map[string]int{"qa": 1, "qb": 1, "qc": 1}, false},
		{"bcc routes a mandatory message", "d", "nomatch", amqp091.Table{"BCC": []any{"kb"}}, true, map[string]int{"qb": 1}, false},
		{"unroutable mandatory", "d", "nomatch", amqp091.Table{"CC": []any{"x"}, "BCC": []any{"y"}}, true, map[string]int{}, true},
		{"empty arrays", "d", "ka", amqp091.Table{"CC": []any{}, "BCC": []any{}}, false, map[string]int{"qa": 1}, false},
	}
	for _, c := range cases {
		pub(t, ch, c.exchange, c.key, c.mandatory, amqp091.Publishing{Headers: c.headers, Body: []byte(c.name)})
		if c.returned {
			select {
			case r := <-returns:
				if _, ok := r.Headers["BCC"]; ok || r.ReplyCode != 312 {
					t.Errorf("%s: returned %d with headers %v", c.name, r.ReplyCode, r.Headers)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: not returned", c.name)
			}
		}
		time.Sleep(20 * time.Millisecond) // publishes are asynchronous; gets are not
		got, hdrs := counts(t, ch, qs...)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: copies %v, want %v", c.name, got, c.want)
		}
		for q, h := range hdrs {
			if _, ok := h["BCC"]; ok {
				t.Errorf("%s: %s got the BCC header: %v", c.name, q, h)
			}
			if cc, ok := c.headers["CC"]; ok && fmt.Sprint(h["CC"]) != fmt.Sprint(cc) {
				t.Errorf("%s: %s got CC %v, want %v", c.name, q, h["CC"], cc)
			}
		}
	}
	none(t, returns, "return")
}

func TestSenderSelectedDistributionErrors(t *testing.T) {
	b := brokertest.Run(t)
	publishHeaders := func(exchange string, h amqp091.Table) func(ch *amqp091.Channel) error {
		return func(ch *amqp091.Channel) error {
			return ch.PublishWithContext(context.Background(), exchange, "k", false, false, amqp091.Publishing{Headers: h})
		}
	}
	cases := []struct {
		name     string
		exchange string
		headers  amqp091.Table
		code     int
		text     string
	}{
		{"CC longstr", "amq.direct", amqp091.Table{"CC": "kb"}, 406, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}`},
		{"BCC longstr", "amq.direct", amqp091.Table{"BCC": "kb"}, 406, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",longstr}`},
		{"CC signedint", "amq.direct", amqp091.Table{"CC": int32(1)}, 406, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",signedint}`},
		{"CC table", "amq.direct", amqp091.Table{"CC": amqp091.Table{"a": "b"}}, 406, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",table}`},
		{"CC before BCC", "amq.direct", amqp091.Table{"BCC": "x", "CC": int32(1)}, 406, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",signedint}`},
		{"exchange first", "nox", amqp091.Table{"CC": "kb"}, 404, "NOT_FOUND - no exchange 'nox' in vhost '/'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantAMQPError(t, chanError(t, b, publishHeaders(c.exchange, c.headers)), c.code, c.text)
		})
	}
}

// A dead-lettered message keeps its publish's routing keys, BCC ones
// included, unless the queue sets a dead-letter routing key; x-death lists
// the routing key and the CC keys (rabbit_dead_letter:make_msg/5).
func TestSenderSelectedDistributionDeadLetter(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "cc-dl"))
	if err := ch.ExchangeDeclare("dlx", "direct", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"by-key", "by-cc", "by-bcc", "by-dlrk"} {
		declare(t, ch, q, nil)
		if err := ch.QueueBind(q, strings.TrimPrefix(q, "by-"), "dlx", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	declare(t, ch, "src", amqp091.Table{"x-dead-letter-exchange": "dlx"})
	declare(t, ch, "src-rk", amqp091.Table{"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dlrk"})
	// The default exchange routes the message by key to src, by BCC to
	// src-rk; cc and bcc lead nowhere there.
	pub(t, ch, "", "src", false, amqp091.Publishing{
		Headers: amqp091.Table{"CC": []any{"cc"}, "BCC": []any{"bcc", "src-rk"}}, Body: []byte("m"),
	})
	for _, q := range []string{"src", "src-rk"} {
		d := get(t, ch, q)
		if err := d.Reject(false); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	got, hdrs := counts(t, ch, "by-key", "by-cc", "by-bcc", "by-dlrk")
	if fmt.Sprint(got) != fmt.Sprint(map[string]int{"by-bcc": 1, "by-cc": 1, "by-dlrk": 1}) {
		t.Fatalf("dead-lettered copies %v", got)
	}
	for q, h := range hdrs {
		deaths, _ := h["x-death"].([]any)
		if len(deaths) != 1 {
			t.Fatalf("%s: x-death %v", q, h["x-death"])
		}
		death := deaths[0].(amqp091.Table)
		keys := fmt.Sprint(death["routing-keys"])
		_, hasCC := h["CC"]
		switch q {
		case "by-dlrk":
			if death["queue"] != "src-rk" || keys != "[src cc]" || hasCC {
				t.Errorf("%s: queue %v routing-keys %s, CC kept %v", q, death["queue"], keys, hasCC)
			}
		default:
			if death["queue"] != "src" || keys != "[src cc]" || !hasCC {
				t.Errorf("%s: queue %v routing-keys %s, CC kept %v", q, death["queue"], keys, hasCC)
			}
		}
	}
}

// The BCC keys of a stored message survive a restart (its properties no
// longer hold them): a persistent message rejected after the restart is
// dead-lettered with them.
func TestSenderSelectedDistributionStored(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "before")
	ch := channel(t, c)
	if err := ch.ExchangeDeclare("dlx", "direct", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	declareDurable(t, ch, "by-bcc", nil)
	if err := ch.QueueBind("by-bcc", "bcc", "dlx", false, nil); err != nil {
		t.Fatal(err)
	}
	declareDurable(t, ch, "src", amqp091.Table{"x-dead-letter-exchange": "dlx"})
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 1))
	pub(t, ch, "", "src", false, amqp091.Publishing{DeliveryMode: amqp091.Persistent, Headers: amqp091.Table{"BCC": []any{"bcc"}}, Body: []byte("kept")})
	if k := <-confirms; !k.Ack {
		t.Fatal("nacked")
	}
	_ = c.Close()
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	c = dial(t, b, "after")
	ch = channel(t, c)
	d := get(t, ch, "src")
	if _, ok := d.Headers["BCC"]; ok {
		t.Fatalf("BCC header stored: %v", d.Headers)
	}
	if err := d.Reject(false); err != nil {
		t.Fatal(err)
	}
	// The dead-lettered copy is persistent and durable too.
	time.Sleep(20 * time.Millisecond)
	_ = c.Close()
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	ch = channel(t, dial(t, b, "again"))
	if got := drainBodies(t, ch, "by-bcc"); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("by-bcc after restarts: %v", got)
	}
}
