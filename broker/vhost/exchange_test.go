package vhost

import (
	"testing"

	"github.com/beatmq/beatmq/amqp"
)

func TestStandardExchanges(t *testing.T) {
	e := newEnv(t)
	want := map[string]string{"": "direct", "amq.direct": "direct", "amq.fanout": "fanout", "amq.topic": "topic", "amq.headers": "headers", "amq.match": "headers"}
	got := e.v.Exchanges()
	if len(got) != len(want) {
		t.Fatalf("exchanges %+v", got)
	}
	for _, x := range got {
		if want[x.Name] != x.Type || !x.Durable || x.AutoDelete || x.Internal {
			t.Errorf("exchange %+v", x)
		}
	}
}

func TestExchangeDeclareErrors(t *testing.T) {
	e := newEnv(t)
	e.declareX("x", KindDirect)
	cases := []struct {
		name string
		spec ExchangeSpec
		code uint16
		text string
	}{
		{"passive missing", ExchangeSpec{Name: "nope", Passive: true}, 404, "NOT_FOUND - no exchange 'nope' in vhost '/'"},
		{"passive default", ExchangeSpec{Name: "", Passive: true}, 403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"declare default", ExchangeSpec{Name: "", Type: "direct"}, 403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"reserved", ExchangeSpec{Name: "amq.foo", Type: "direct"}, 403, "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'"},
		{"unknown type", ExchangeSpec{Name: "y", Type: "x-unknown"}, 503, "COMMAND_INVALID - unknown exchange type 'x-unknown'"},
		{"invalid type", ExchangeSpec{Name: "y", Type: "queue"}, 503, "COMMAND_INVALID - invalid exchange type 'queue'"},
		{"type checked before default", ExchangeSpec{Name: "", Type: "bogus"}, 503, "COMMAND_INVALID - unknown exchange type 'bogus'"},
		{"other type", ExchangeSpec{Name: "x", Type: "fanout"}, 406, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'"},
		{"durable", ExchangeSpec{Name: "x", Type: "direct", Durable: true}, 406, "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{"auto_delete", ExchangeSpec{Name: "x", Type: "direct", AutoDelete: true}, 406, "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{"internal", ExchangeSpec{Name: "x", Type: "direct", Internal: true}, 406, "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{"alternate-exchange", ExchangeSpec{Name: "x", Type: "direct", Args: amqp.Table{{Name: "alternate-exchange", Value: "ae"}}}, 406, "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received the value 'ae' of type 'longstr' but current is none"},
		{"alternate-exchange type", ExchangeSpec{Name: "z", Type: "direct", Args: amqp.Table{{Name: "alternate-exchange", Value: int32(1)}}}, 406, "PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in exchange 'z' in vhost '/'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := wantErr(t, e.s.DeclareExchange(c.spec), c.code, c.text)
			// The channel stamps exchange.declare's 40/10
			// (broker's TestVHostErrorNamesMethod).
			if err.ClassID != 0 || err.MethodID != 0 {
				t.Errorf("class/method %d/%d, want 0/0", err.ClassID, err.MethodID)
			}
			if hard := c.code == 503; err.Hard() != hard {
				t.Errorf("Hard() = %v", err.Hard())
			}
		})
	}
	// Redeclaring with equal properties, an ignored argument, or passively
	// with different ones, is fine; so is redeclaring amq.direct as it is.
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "x", Type: "direct", Args: amqp.Table{{Name: "other", Value: "ignored"}}}))
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "x", Type: "fanout", Durable: true, Passive: true}))
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "amq.direct", Type: "direct", Durable: true}))
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "amq.topic", Passive: true}))
}

func TestExchangeDelete(t *testing.T) {
	e := newEnv(t)
	wantErr(t, e.s.DeleteExchange("", false), 403, "ACCESS_REFUSED - operation not permitted on the default exchange")
	wantErr(t, e.s.DeleteExchange("amq.direct", false), 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed")
	noErr(t, e.s.DeleteExchange("missing", false))

	e.declareX("x", KindFanout)
	e.declare("q", nil)
	e.bind("q", "x", "", nil)
	wantErr(t, e.s.DeleteExchange("x", true), 406, "PRECONDITION_FAILED - exchange 'x' in vhost '/' in use")
	noErr(t, e.s.DeleteExchange("x", false))
	if _, ok := e.v.Exchange("x"); ok {
		t.Fatal("exchange still there")
	}
	if bs := e.v.Bindings(); len(bs) != 1 || bs[0].Source != "" {
		t.Fatalf("bindings left: %+v", bs)
	}
	// Publishing to it now fails with 404.
	_, err := e.s.Publish("x", "", false, msg(t, "m"))
	wantErr(t, err, 404, "NOT_FOUND - no exchange 'x' in vhost '/'")
}

func TestExchangeAutoDelete(t *testing.T) {
	e := newEnv(t)
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "ad", Type: "direct", AutoDelete: true}))
	e.declare("q1", nil)
	e.declare("q2", nil)
	e.bind("q1", "ad", "k", nil)
	e.bind("q2", "ad", "k", nil)
	noErr(t, e.s.UnbindQueue("q1", "ad", "k", nil))
	if _, ok := e.v.Exchange("ad"); !ok {
		t.Fatal("deleted with a binding left")
	}
	// The last binding goes with its queue: the exchange goes too.
	if _, err := e.s.DeleteQueue("q2", false, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.v.Exchange("ad"); ok {
		t.Fatal("auto-delete exchange survived its last binding")
	}

	// Exchange-to-exchange: the source goes when its destination goes.
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "src", Type: "fanout", AutoDelete: true}))
	e.declareX("dst", KindFanout)
	noErr(t, e.s.BindExchange("dst", "src", "", nil))
	noErr(t, e.s.DeleteExchange("dst", false))
	if _, ok := e.v.Exchange("src"); ok {
		t.Fatal("auto-delete source survived its destination")
	}
}

func TestExchangeToExchange(t *testing.T) {
	e := newEnv(t)
	e.declareX("a", KindTopic)
	e.declareX("b", KindDirect)
	e.declareX("c", KindFanout)
	e.declare("qb", nil)
	e.declare("qc", nil)
	noErr(t, e.s.BindExchange("b", "a", "k.#", nil))
	noErr(t, e.s.BindExchange("c", "b", "k.x", nil))
	noErr(t, e.s.BindExchange("a", "c", "", nil)) // a loop a -> b -> c -> a
	noErr(t, e.s.BindExchange("a", "a", "#", nil))
	e.bind("qb", "b", "k.x", nil)
	e.bind("qc", "c", "", nil)
	e.bind("qc", "a", "#", nil) // qc twice on the way: delivered once

	got, err := e.v.Route("a", "k.x", nil)
	noErr(t, err)
	if s := joinNames(got); s != "qb,qc" {
		t.Fatalf("routed to %q", s)
	}
	if r := e.publish("a", "k.x", "m"); !r.Routed {
		t.Fatal("not routed")
	}
	if e.ready("qb") != 1 || e.ready("qc") != 1 {
		t.Fatalf("qb %d qc %d", e.ready("qb"), e.ready("qc"))
	}
	noErr(t, e.s.UnbindExchange("b", "a", "k.#", nil))
	got, _ = e.v.Route("a", "k.x", nil)
	if s := joinNames(got); s != "qc" {
		t.Fatalf("after unbind routed to %q", s)
	}
	// Unbinding what is not there is fine, as in RabbitMQ 3.10.
	noErr(t, e.s.UnbindExchange("b", "a", "k.#", nil))
	noErr(t, e.s.UnbindExchange("nope", "a", "k.#", nil))

	wantErr(t, e.s.BindExchange("", "a", "", nil), 403, "ACCESS_REFUSED - operation not permitted on the default exchange")
	wantErr(t, e.s.BindExchange("a", "", "", nil), 403, "ACCESS_REFUSED - operation not permitted on the default exchange")
	wantErr(t, e.s.BindExchange("a", "nope", "", nil), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'")
	wantErr(t, e.s.BindExchange("nope", "a", "", nil), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'")
	wantErr(t, e.s.BindExchange("nope2", "nope1", "", nil), 404, "NOT_FOUND - no exchange 'nope1' in vhost '/'")
}

func TestAlternateAndInternalExchanges(t *testing.T) {
	e := newEnv(t)
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "main", Type: "direct", Args: amqp.Table{{Name: "alternate-exchange", Value: "ae"}}}))
	noErr(t, e.s.DeclareExchange(ExchangeSpec{Name: "ae", Type: "fanout", Internal: true}))
	e.declare("routed", nil)
	e.declare("unrouted", nil)
	e.bind("routed", "main", "k", nil)
	e.bind("unrouted", "ae", "", nil)
	e.publish("main", "k", "1")
	e.publish("main", "other", "2")
	if e.ready("routed") != 1 || e.ready("unrouted") != 1 {
		t.Fatalf("routed %d unrouted %d", e.ready("routed"), e.ready("unrouted"))
	}
	_, err := e.s.Publish("ae", "", false, msg(t, "x"))
	wantErr(t, err, 403, "ACCESS_REFUSED - cannot publish to internal exchange 'ae' in vhost '/'")
}

func TestPublishUnroutable(t *testing.T) {
	e := newEnv(t)
	if r := e.publish("", "no-such-queue", "m"); r.Routed {
		t.Fatal("routed to a missing queue")
	}
	e.declare("q", nil)
	if r := e.publish("", "q", "m"); !r.Routed {
		t.Fatal("default exchange did not route by queue name")
	}
	if r := e.publish("amq.direct", "q", "m"); r.Routed {
		t.Fatal("amq.direct routed without a binding")
	}
	// The default exchange cannot be bound.
	wantErr(t, e.s.BindQueue("q", "", "q", nil), 403, "ACCESS_REFUSED - operation not permitted on the default exchange")
	wantErr(t, e.s.UnbindQueue("q", "", "q", nil), 403, "ACCESS_REFUSED - operation not permitted on the default exchange")
}

func TestBindingsList(t *testing.T) {
	e := newEnv(t)
	e.declare("b", nil)
	e.declare("a", nil)
	e.bind("a", "amq.topic", "k.#", amqp.Table{{Name: "x", Value: int32(1)}})
	noErr(t, e.s.BindExchange("amq.fanout", "amq.direct", "r", nil))
	got := e.v.Bindings()
	want := []BindingInfo{
		{Source: "", Destination: "a", DestinationType: "queue", RoutingKey: "a"},
		{Source: "", Destination: "b", DestinationType: "queue", RoutingKey: "b"},
		{Source: "amq.direct", Destination: "amq.fanout", DestinationType: "exchange", RoutingKey: "r"},
		{Source: "amq.topic", Destination: "a", DestinationType: "queue", RoutingKey: "k.#"},
	}
	if len(got) != len(want) {
		t.Fatalf("bindings %+v", got)
	}
	for i := range want {
		g := got[i]
		if g.Source != want[i].Source || g.Destination != want[i].Destination || g.DestinationType != want[i].DestinationType || g.RoutingKey != want[i].RoutingKey {
			t.Fatalf("binding %d: %+v, want %+v", i, g, want[i])
		}
	}
}

func TestRouteDeduplicates(t *testing.T) {
	e := newEnv(t)
	e.declareX("f", KindFanout)
	for i := 0; i < 40; i++ {
		q := "q" + string(rune('a'+i%20))
		if i < 20 {
			e.declare(q, nil)
		}
		// Two bindings per queue (different arguments): 40 destinations,
		// 20 queues.
		e.bind(q, "f", "", amqp.Table{{Name: "n", Value: int32(i)}})
	}
	got, err := e.v.Route("f", "", nil)
	noErr(t, err)
	if len(got) != 20 {
		t.Fatalf("routed to %d queues: %v", len(got), got)
	}
	e.publish("f", "", "once")
	for _, q := range got {
		if e.ready(q) != 1 {
			t.Fatalf("queue %s has %d", q, e.ready(q))
		}
	}
}
