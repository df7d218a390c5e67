package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// rabbitPoliciesExport is GET /api/definitions of a RabbitMQ 3.10.8 node,
// exported on 2026-12-03 after creating through the management API: vhosts
// shop and /audit, user pat/patpw (tags management, policymaker) with
// permissions in both, guest/guest, the exchanges orders (topic),
// orders.unrouted and orders.dlx (fanout), the queues orders.eu,
// orders.lost, orders.dead and audit.log (x-queue-mode lazy), bindings
// orders -eu.#-> orders.eu, orders.unrouted -> orders.lost,
// orders.dlx -> orders.dead, and the policies
//
//	shop   cap-all    ^orders\.    queues     1  max-length 3, overflow reject-publish
//	shop   orders-ttl ^orders\.eu$ queues     5  message-ttl 60000, dead-letter-exchange orders.dlx
//	shop   orders-ae  ^orders$     exchanges  0  alternate-exchange orders.unrouted
//	/audit audit-len  ^audit\.     all        2  max-length-bytes 1048576
const rabbitPoliciesExport = "testdata/definitions/rabbitmq-3.10.8-policies.json"

// RabbitMQ's export with policies imports into beatmq, each queue gets the
// policy RabbitMQ would give it (the highest priority match), the policies
// apply, and beatmq exports the same definitions back.
func TestDefinitionsRabbitMQPolicies(t *testing.T) {
	b, orig := importFile(t, rabbitPoliciesExport)
	s := b.Server()
	type pol struct {
		Name, Pattern, ApplyTo string
		Priority               int
	}
	var got []pol
	for _, vh := range []string{"shop", "/audit"} {
		for _, p := range s.Policies(vh) {
			got = append(got, pol{p.VHost + " " + p.Name, p.Pattern, p.ApplyTo, p.Priority})
		}
	}
	want := []pol{
		{"shop cap-all", `^orders\.`, "queues", 1},
		{"shop orders-ae", `^orders$`, "exchanges", 0},
		{"shop orders-ttl", `^orders\.eu$`, "queues", 5},
		{"/audit audit-len", `^audit\.`, "all", 2},
	}
	if !sameElems(got, want) {
		t.Fatalf("policies after import:\n got %+v\nwant %+v", got, want)
	}

	effective := map[string]string{"shop orders.eu": "orders-ttl", "shop orders.lost": "cap-all", "shop orders.dead": "cap-all", "/audit audit.log": "audit-len"}
	for _, q := range s.Queues() {
		k := q.VHost + " " + q.Name
		w, ok := effective[k]
		if !ok {
			continue
		}
		delete(effective, k)
		if q.Policy != w {
			t.Errorf("queue %s: policy %q, want %q", k, q.Policy, w)
		}
		if k == "shop orders.eu" {
			d, _ := json.Marshal(q.PolicyDefinition)
			if string(d) != `{"dead-letter-exchange":"orders.dlx","message-ttl":60000}` {
				t.Errorf("orders.eu: effective policy definition %s", d)
			}
		}
	}
	if len(effective) != 0 {
		t.Errorf("queues missing after import: %v", effective)
	}

	// The exchange policy sends what orders cannot route to orders.unrouted,
	// and cap-all holds orders.lost to 3 messages.
	c := mustDialAs(t, b, "pat", "patpw", "shop")
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 5 {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "orders", "us.x", false, false, amqp091.Publishing{Body: fmt.Appendf(nil, "m%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dc.WaitContext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range s.Queues() {
		if q.VHost == "shop" && q.Name == "orders.lost" && q.Messages != 3 {
			t.Errorf("orders.lost holds %d messages, want 3 (alternate-exchange and max-length policies)", q.Messages)
		}
	}

	out, err := s.ExportDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := normDefs(t, out), normDefs(t, orig); !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Fatalf("export differs from RabbitMQ's:\n got %s\nwant %s", gj, wj)
	}
}

// sameElems reports whether a and b hold the same elements, in any order.
func sameElems[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	n := map[T]int{}
	for _, x := range a {
		n[x]++
	}
	for _, x := range b {
		n[x]--
	}
	for _, c := range n {
		if c != 0 {
			return false
		}
	}
	return true
}
