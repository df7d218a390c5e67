package vhost

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

func fieldNames(t amqp.Table) []string {
	var out []string
	for _, f := range t {
		out = append(out, f.Name)
	}
	return out
}

func decodeProps(t *testing.T, m *Message) amqp.Properties {
	t.Helper()
	p, err := amqp.DecodeProperties(m.Properties)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dlxEnv has queue "work" dead-lettering to fanout "dlx", bound to "dead".
func dlxEnv(t *testing.T, workArgs amqp.Table) *env {
	e := newEnv(t)
	e.declareX("dlx", KindFanout)
	e.declare("dead", nil)
	e.bind("dead", "dlx", "", nil)
	args := append(amqp.Table{{Name: "x-dead-letter-exchange", Value: "dlx"}}, workArgs...)
	e.declare("work", args)
	e.bind("work", "amq.direct", "rk", nil)
	return e
}

func TestDeadLetterRejected(t *testing.T) {
	e := dlxEnv(t, nil)
	m := propsMsg(t, "poison", amqp.Properties{
		ContentType: "text/plain",
		Headers:     amqp.Table{{Name: "zeta", Value: "z"}, {Name: "alpha", Value: int32(1)}, {Name: "CC", Value: []any{"cc-key"}}},
	})
	e.publishMsg("amq.direct", "rk", m)
	before := time.Now().Unix()
	_, d := e.get(e.s, e.k, "work", false)
	noErr(t, e.s.Reject(d.DeliveryTag, false))
	_, dd := e.get(e.s, e.k, "dead", true)
	if dd.Message == nil {
		t.Fatal("nothing dead-lettered")
	}
	dm := dd.Message
	if dm.Exchange != "dlx" || dm.RoutingKey != "rk" || string(dm.Body) != "poison" {
		t.Fatalf("dead letter %q %q %q", dm.Exchange, dm.RoutingKey, dm.Body)
	}
	p := decodeProps(t, dm)
	if p.ContentType != "text/plain" {
		t.Fatalf("content type lost: %+v", p)
	}
	// Headers sorted by key, x-death first entry in RabbitMQ's field order.
	if got, want := fieldNames(p.Headers), []string{"CC", "alpha", "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason", "zeta"}; !slices.Equal(got, want) {
		t.Fatalf("headers %v, want %v", got, want)
	}
	for k, want := range map[string]string{"x-first-death-exchange": "amq.direct", "x-first-death-queue": "work", "x-first-death-reason": "rejected"} {
		if v, _ := p.Headers.Get(k); v != want {
			t.Errorf("%s = %v", k, v)
		}
	}
	xd, _ := p.Headers.Get("x-death")
	deaths, ok := xd.([]any)
	if !ok || len(deaths) != 1 {
		t.Fatalf("x-death %#v", xd)
	}
	entry := deaths[0].(amqp.Table)
	if got, want := fieldNames(entry), []string{"count", "reason", "queue", "time", "exchange", "routing-keys"}; !slices.Equal(got, want) {
		t.Fatalf("x-death fields %v", got)
	}
	get := func(k string) any { v, _ := entry.Get(k); return v }
	if get("count") != int64(1) || get("reason") != "rejected" || get("queue") != "work" || get("exchange") != "amq.direct" {
		t.Fatalf("x-death %v", entry)
	}
	if rks, _ := get("routing-keys").([]any); len(rks) != 2 || rks[0] != "rk" || rks[1] != "cc-key" {
		t.Fatalf("routing-keys %#v", get("routing-keys"))
	}
	if ts, ok := get("time").(time.Time); !ok || ts.Unix() < before-1 || ts.Unix() > time.Now().Unix()+1 {
		t.Fatalf("time %#v", get("time"))
	}
	// Dead-lettered again from "dead" (rejected): a second entry goes first,
	// the table sorted; a third death of the same kind counts up.
	// Recreate "dead" with its own dead-letter exchange.
	_, err := e.s.DeleteQueue("dead", false, false)
	noErr(t, err)
	_, err = e.s.DeclareQueue(QueueSpec{Name: "dead", Args: amqp.Table{{Name: "x-dead-letter-exchange", Value: ""}, {Name: "x-dead-letter-routing-key", Value: "work"}}})
	noErr(t, err)
	e.bind("dead", "dlx", "", nil)
	e.publishMsg("amq.direct", "rk", propsMsg(t, "again", amqp.Properties{}))
	_, d = e.get(e.s, e.k, "work", false)
	noErr(t, e.s.Reject(d.DeliveryTag, false)) // work -> dead
	_, d = e.get(e.s, e.k, "dead", false)
	noErr(t, e.s.Reject(d.DeliveryTag, false)) // dead -> work (rejects never count as cycles)
	_, d = e.get(e.s, e.k, "work", false)
	if d.Message == nil || d.Message.RoutingKey != "work" || d.Message.Exchange != "" {
		t.Fatalf("second dead letter %+v", d.Message)
	}
	noErr(t, e.s.Reject(d.DeliveryTag, false)) // work -> dead again
	_, d = e.get(e.s, e.k, "dead", true)
	p = decodeProps(t, d.Message)
	xd, _ = p.Headers.Get("x-death")
	deaths = xd.([]any)
	if len(deaths) != 2 {
		t.Fatalf("x-death %v", deaths)
	}
	first := deaths[0].(amqp.Table)
	if got, want := fieldNames(first), []string{"count", "exchange", "queue", "reason", "routing-keys", "time"}; !slices.Equal(got, want) {
		t.Fatalf("incremented entry fields %v", got)
	}
	if v, _ := first.Get("count"); v != int64(2) {
		t.Fatalf("count %v", v)
	}
	if v, _ := first.Get("queue"); v != "work" {
		t.Fatalf("first entry queue %v", v)
	}
	if v, _ := deaths[1].(amqp.Table).Get("queue"); v != "dead" {
		t.Fatalf("second entry queue %v", v)
	}
}

func TestDeadLetterExpiredAndMaxlen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := dlxEnv(t, amqp.Table{{Name: "x-max-length", Value: int32(1)}})
		e.publishMsg("amq.direct", "rk", propsMsg(t, "expiring", amqp.Properties{Expiration: "50"}))
		sleep(60 * time.Millisecond)
		_, d := e.get(e.s, e.k, "dead", true)
		if d.Message == nil {
			t.Fatal("expired message not dead-lettered")
		}
		p := decodeProps(t, d.Message)
		if p.Expiration != "" || p.Flags&amqp.FlagExpiration != 0 {
			t.Fatalf("expiration kept: %+v", p)
		}
		xd, _ := p.Headers.Get("x-death")
		entry := xd.([]any)[0].(amqp.Table)
		if r, _ := entry.Get("reason"); r != "expired" {
			t.Fatalf("reason %v", r)
		}
		if oe, _ := entry.Get("original-expiration"); oe != "50" {
			t.Fatalf("original-expiration %v", oe)
		}

		e.publish("amq.direct", "rk", "one")
		e.publish("amq.direct", "rk", "two")
		b, d := e.get(e.s, e.k, "dead", true)
		if b != "one" {
			t.Fatalf("dropped head %q", b)
		}
		p = decodeProps(t, d.Message)
		if r, _ := p.Headers.Get("x-first-death-reason"); r != "maxlen" {
			t.Fatalf("reason %v", r)
		}
		if b, _ := e.get(e.s, e.k, "work", true); b != "two" {
			t.Fatalf("kept %q", b)
		}
	})
}

func TestDeadLetterCycles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		// An expired message dead-lettered back to its own queue is a
		// cycle with no rejection in it: RabbitMQ drops it.
		e.declare("loop", amqp.Table{
			{Name: "x-message-ttl", Value: int32(10)},
			{Name: "x-dead-letter-exchange", Value: ""},
			{Name: "x-dead-letter-routing-key", Value: "loop"},
		})
		e.publish("", "loop", "m")
		sleep(15 * time.Millisecond)
		if n := e.ready("loop"); n != 0 {
			t.Fatalf("cycle not broken: %d ready", n)
		}

		// The retry pattern has a rejection in the cycle, so it goes round:
		// work rejects to wait, wait expires back to work.
		e.declare("work", amqp.Table{{Name: "x-dead-letter-exchange", Value: ""}, {Name: "x-dead-letter-routing-key", Value: "wait"}})
		e.declare("wait", amqp.Table{{Name: "x-message-ttl", Value: int32(10)}, {Name: "x-dead-letter-exchange", Value: ""}, {Name: "x-dead-letter-routing-key", Value: "work"}})
		e.publish("", "work", "retry")
		for round := 1; round <= 3; round++ {
			_, d := e.get(e.s, e.k, "work", false)
			if d.Message == nil {
				t.Fatalf("round %d: message lost", round)
			}
			noErr(t, e.s.Reject(d.DeliveryTag, false))
			sleep(15 * time.Millisecond)
		}
		_, d := e.get(e.s, e.k, "work", true)
		p := decodeProps(t, d.Message)
		xd, _ := p.Headers.Get("x-death")
		for _, entry := range xd.([]any) {
			if c, _ := entry.(amqp.Table).Get("count"); c != int64(3) {
				t.Fatalf("x-death %v", xd)
			}
		}
	})
}

func TestDeadLetterRoutingKeyDropsCC(t *testing.T) {
	e := dlxEnv(t, nil)
	_, err := e.s.DeclareQueue(QueueSpec{Name: "w2", Args: amqp.Table{
		{Name: "x-dead-letter-exchange", Value: "dlx"}, {Name: "x-dead-letter-routing-key", Value: "new-key"}}})
	noErr(t, err)
	e.publishMsg("", "w2", propsMsg(t, "m", amqp.Properties{Headers: amqp.Table{{Name: "CC", Value: []any{"x"}}}}))
	_, d := e.get(e.s, e.k, "w2", false)
	noErr(t, e.s.Nack(d.DeliveryTag, false, false))
	_, d = e.get(e.s, e.k, "dead", true)
	if d.Message.RoutingKey != "new-key" {
		t.Fatalf("routing key %q", d.Message.RoutingKey)
	}
	p := decodeProps(t, d.Message)
	if _, ok := p.Headers.Get("CC"); ok {
		t.Fatal("CC kept with a dead-letter routing key")
	}
}

func TestDeadLetterMissingExchange(t *testing.T) {
	e := newEnv(t)
	e.declare("q", amqp.Table{{Name: "x-dead-letter-exchange", Value: "not-there"}})
	e.publish("", "q", "m")
	_, d := e.get(e.s, e.k, "q", false)
	noErr(t, e.s.Reject(d.DeliveryTag, false))
	if e.ready("q") != 0 {
		t.Fatal("message kept")
	}
}
