package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/broker/vhost"
)

// setPolicy sets a policy on vhost "/" of b, failing the test on an error.
func setPolicy(t *testing.T, b *brokertest.Broker, name, pattern, applyTo string, prio int, def map[string]any) {
	t.Helper()
	p := broker.Policy{VHost: "/", Name: name, Pattern: pattern, ApplyTo: applyTo, Priority: prio, Definition: def}
	if err := b.Server().SetPolicy(p); err != nil {
		t.Fatalf("SetPolicy %s: %v", name, err)
	}
}

// publishN publishes n messages "0".."n-1" to queue, then waits for them
// with a passive declare, which answers after them on the same channel;
// it returns the queue's message count.
func publishN(t *testing.T, ch *amqp091.Channel, queue string, n int) int {
	t.Helper()
	for i := range n {
		publish(t, ch, queue, []byte(fmt.Sprint(i)))
	}
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err != nil {
		t.Fatalf("passive declare %s: %v", queue, err)
	}
	return q.Messages
}

// A max-length policy truncates a queue declared without arguments, the
// queues that exist when it is set included; clearing it lifts the limit.
func TestPolicyMaxLength(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "p"))
	declare(t, ch, "before", nil)
	if got := publishN(t, ch, "before", 5); got != 5 {
		t.Fatalf("before the policy: %d messages", got)
	}
	setPolicy(t, b, "len", "^(before|after)$", "queues", 0, map[string]any{"max-length": int64(2)})
	if q, _ := b.Server().VHost("/").Queue("before"); q.Messages != 2 || q.Policy != "len" {
		t.Fatalf("existing queue under the policy: %d messages, policy %q", q.Messages, q.Policy)
	}
	if d := get(t, ch, "before"); string(d.Body) != "3" {
		t.Fatalf("head after truncation: %q, want 3 (drop-head)", d.Body)
	}
	declare(t, ch, "after", nil)
	if got := publishN(t, ch, "after", 5); got != 2 {
		t.Fatalf("new queue under the policy: %d messages, want 2", got)
	}
	declare(t, ch, "other", nil)
	if got := publishN(t, ch, "other", 5); got != 5 {
		t.Fatalf("unmatched queue: %d messages", got)
	}
	if err := b.Server().ClearPolicy("/", "len"); err != nil {
		t.Fatal(err)
	}
	if got := publishN(t, ch, "after", 3); got != 5 {
		t.Fatalf("after clearing: %d messages, want 5", got)
	}
	if q, _ := b.Server().VHost("/").Queue("after"); q.Policy != "" || q.PolicyDefinition != nil {
		t.Fatalf("after clearing: policy %q %v", q.Policy, q.PolicyDefinition)
	}
	if err := b.Server().ClearPolicy("/", "len"); !errors.Is(err, broker.ErrNoPolicy) {
		t.Fatalf("clearing twice: %v", err)
	}
}

// The lower of a numeric policy value and the argument wins; for the
// others the argument wins; the higher priority policy applies.
func TestPolicyPrecedence(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "p"))
	setPolicy(t, b, "low", ".*", "all", 0, map[string]any{"max-length": int64(1)})
	setPolicy(t, b, "high", "^q", "queues", 5, map[string]any{"max-length": int64(3), "overflow": "reject-publish"})
	declare(t, ch, "q-arg-higher", amqp091.Table{"x-max-length": int32(10)})
	declare(t, ch, "q-arg-lower", amqp091.Table{"x-max-length": int32(2), "x-overflow": "drop-head"})
	declare(t, ch, "z", nil)
	for _, c := range []struct {
		queue, policy string
		want          int
	}{{"q-arg-higher", "high", 3}, {"q-arg-lower", "high", 2}, {"z", "low", 1}} {
		if got := publishN(t, ch, c.queue, 4); got != c.want {
			t.Errorf("%s: %d messages, want %d", c.queue, got, c.want)
		}
		q, _ := b.Server().VHost("/").Queue(c.queue)
		if q.Policy != c.policy {
			t.Errorf("%s: policy %q, want %q", c.queue, q.Policy, c.policy)
		}
	}
	// reject-publish from the policy: the first messages stay.
	if d := get(t, ch, "q-arg-higher"); string(d.Body) != "0" {
		t.Errorf("q-arg-higher head %q, want 0 (reject-publish)", d.Body)
	}
	// drop-head from the argument: the last ones stay.
	if d := get(t, ch, "q-arg-lower"); string(d.Body) != "2" {
		t.Errorf("q-arg-lower head %q, want 2 (drop-head)", d.Body)
	}
}

// A message-ttl policy expires messages; with dead-letter-exchange in the
// policy they are dead-lettered.
func TestPolicyTTLAndDLX(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "p"))
	declare(t, ch, "dead", nil)
	declare(t, ch, "work", nil)
	if err := ch.QueueBind("dead", "work", "amq.direct", false, nil); err != nil {
		t.Fatal(err)
	}
	setPolicy(t, b, "ttl", "^work$", "queues", 0, map[string]any{"message-ttl": int64(20), "dead-letter-exchange": "amq.direct"})
	publishN(t, ch, "work", 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		q, _ := b.Server().VHost("/").Queue("dead")
		if q.Messages == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message was not dead-lettered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := get(t, ch, "dead")
	if death, _ := d.Headers["x-death"].([]any); len(death) != 1 || death[0].(amqp091.Table)["reason"] != "expired" {
		t.Fatalf("x-death %v", d.Headers["x-death"])
	}
}

// An alternate-exchange policy catches what its exchange does not route;
// the exchange's own argument wins over it.
func TestPolicyAlternateExchange(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "p"))
	for _, x := range []struct {
		name string
		args amqp091.Table
	}{{"ae", nil}, {"ae2", nil}, {"in", nil}, {"in-arg", amqp091.Table{"alternate-exchange": "ae2"}}} {
		if err := ch.ExchangeDeclare(x.name, "fanout", false, false, false, false, x.args); err != nil {
			t.Fatal(err)
		}
	}
	declare(t, ch, "caught", nil)
	declare(t, ch, "caught2", nil)
	if err := ch.QueueBind("caught", "", "ae", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("caught2", "", "ae2", false, nil); err != nil {
		t.Fatal(err)
	}
	setPolicy(t, b, "ae", "^in", "exchanges", 0, map[string]any{"alternate-exchange": "ae"})
	for _, x := range []string{"in", "in-arg"} {
		if err := ch.PublishWithContext(context.Background(), x, "k", false, false, amqp091.Publishing{Body: []byte(x)}); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"caught": 1, "caught2": 1} {
		got, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		if err != nil || got.Messages != want {
			t.Errorf("%s: %v messages, err %v", q, got.Messages, err)
		}
	}
	if x, _ := b.Server().VHost("/").Exchange("in"); x.Policy != "ae" {
		t.Errorf("exchange policy %q", x.Policy)
	}
	if q, _ := b.Server().VHost("/").Queue("caught"); q.Policy != "" {
		t.Errorf("apply-to exchanges matched queue: %q", q.Policy)
	}
	if err := b.Server().ClearPolicy("/", "ae"); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(context.Background(), "in", "k", false, false, amqp091.Publishing{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ch.QueueDeclarePassive("caught", false, false, false, false, nil); got.Messages != 1 {
		t.Errorf("after clearing: caught has %d messages", got.Messages)
	}
}

// Validation texts are rabbit_policy's and rabbit_policies'.
func TestPolicyValidation(t *testing.T) {
	b := brokertest.Run(t)
	for _, c := range []struct {
		p    broker.Policy
		want string
	}{
		{broker.Policy{Pattern: "(", Definition: map[string]any{"max-length": int64(1)}}, `pattern should be regular expression but is invalid: {"missing )",1}`},
		{broker.Policy{Pattern: ".*", ApplyTo: "bogus", Definition: map[string]any{"max-length": int64(1)}}, "apply-to 'bogus' unrecognised; should be 'queues', 'exchanges' or 'all'"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{}}, "no policy provided"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"max-length": "x"}}, `<<"x">> is not a valid maximum length`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"expires": int64(0)}}, "0 is not a valid queue expiry"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"message-ttl": 1.5}}, "1.5 is not a valid message TTL"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"overflow": "x"}}, `<<"x">> is not a valid overflow value`},
		{broker.Policy{Pattern: "[", Definition: map[string]any{"max-length": int64(1)}},
			"pattern should be regular expression but is invalid: {\"missing terminating ] for character class\",\n" + strings.Repeat(" ", 54) + "1}"},
		{broker.Policy{Pattern: "*", Definition: map[string]any{"max-length": int64(1)}}, `pattern should be regular expression but is invalid: {"nothing to repeat",0}`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"foo": int64(1), "max-age": "1D"}}, `[{<<"foo">>,1}] are not recognised policy settings`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"max-age": "1D", "dead-letter-strategy": "at-least-once"}},
			`[{<<"dead-letter-strategy">>,<<"at-least-once">>},{<<"max-age">>,<<"1D">>}] are not supported by beatmq`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"max-length": float64(1000)}}, "1.0e3 is not a valid maximum length"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "all", "max-length": int64(-1)}}, "-1 is not a valid maximum length"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-params": int64(1)}}, "ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "exactly"}}, `ha-mode="exactly" takes an integer, none given`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "nodes", "ha-params": int64(1)}}, `ha-mode="nodes" takes a list, 1 given`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "all", "ha-params": int64(1)}}, `ha-mode="all" does not take parameters`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "x"}}, `<<"x">> is not a valid ha-mode value`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "all", "ha-sync-mode": "x"}}, `ha-sync-mode must be "manual" or "automatic", got <<"x">>`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "all", "ha-sync-batch-size": int64(0)}}, "ha-sync-batch-size takes an integer greater than 0, 0 given"},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"ha-mode": "all", "ha-promote-on-failure": "x"}}, `ha-promote-on-failure must be "always" or "when-synced", got <<"x">>`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"queue-version": "1"}}, `<<"1">> is not a valid queue-version value`},
		{broker.Policy{Pattern: ".*", Definition: map[string]any{"queue-master-locator": "x"}}, `<<"x">> invalid queue-master-locator value`},
	} {
		c.p.VHost, c.p.Name = "/", "p"
		err := b.Server().SetPolicy(c.p)
		var pe *vhost.PolicyError
		if !errors.As(err, &pe) || pe.Reason != c.want {
			t.Errorf("%+v: %v, want %q", c.p, err, c.want)
		}
	}
	// Keys RabbitMQ accepts and one node can ignore.
	ok := map[string]any{"ha-mode": "exactly", "ha-params": int64(2), "ha-sync-mode": "automatic", "queue-mode": "lazy",
		"queue-version": int64(2), "queue-leader-locator": "balanced", "dead-letter-strategy": "at-most-once", "max-in-memory-length": int64(5)}
	if err := b.Server().SetPolicy(broker.Policy{VHost: "/", Name: "ok", Pattern: ".*", Definition: ok}); err != nil {
		t.Errorf("ignored keys: %v", err)
	}
	if err := b.Server().SetPolicy(broker.Policy{VHost: "nope", Name: "p", Pattern: ".*", Definition: map[string]any{"max-length": int64(1)}}); !errors.Is(err, broker.ErrNoVHost) {
		t.Errorf("unknown vhost: %v", err)
	}
}

// Policies survive a restart; a deleted vhost's go with it.
func TestPolicyRestart(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	s := b.Server()
	if err := s.AddVHost("gone"); err != nil {
		t.Fatal(err)
	}
	setPolicy(t, b, "len", "^d", "queues", 7, map[string]any{"max-length": int64(1), "dead-letter-exchange": "x"})
	if err := s.SetPolicy(broker.Policy{VHost: "gone", Name: "g", Pattern: ".", Definition: map[string]any{"expires": int64(1000)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVHost("gone"); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	ps := b.Server().Policies("")
	if len(ps) != 1 || ps[0].Name != "len" || ps[0].Priority != 7 || ps[0].ApplyTo != "queues" ||
		ps[0].Definition["max-length"] != int64(1) || ps[0].Definition["dead-letter-exchange"] != "x" {
		t.Fatalf("policies after restart: %+v", ps)
	}
	if err := b.Server().AddVHost("gone"); err != nil {
		t.Fatal(err)
	}
	if ps := b.Server().Policies("gone"); len(ps) != 0 {
		t.Fatalf("a deleted vhost's policies came back: %+v", ps)
	}
	ch := channel(t, dial(t, b, "p"))
	declare(t, ch, "d", nil)
	if got := publishN(t, ch, "d", 3); got != 1 {
		t.Fatalf("max-length policy after restart: %d messages", got)
	}
}

// The management API sets policies on the real broker and shows them on
// the queues and exchanges they apply to.
func TestPolicyMgmtOnTheWire(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	ch := channel(t, dial(t, b, "p"))
	declare(t, ch, "q1", nil)
	declare(t, ch, "other", nil)
	if code := mgmtPut(t, hs.URL+"/api/policies/%2F/pol", `{"pattern":"^q","definition":{"max-length":1,"message-ttl":60000},"apply-to":"all"}`); code != http.StatusCreated {
		t.Fatalf("PUT policy: %d", code)
	}
	if got := publishN(t, ch, "q1", 3); got != 1 {
		t.Fatalf("q1 under the policy: %d messages", got)
	}
	var q struct {
		Policy    *string        `json:"policy"`
		Effective map[string]any `json:"effective_policy_definition"`
	}
	resp := mgmtDo(t, http.MethodGet, hs.URL+"/api/queues/%2F/q1", nil)
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		t.Fatal(err)
	}
	if q.Policy == nil || *q.Policy != "pol" || q.Effective["max-length"] != float64(1) || q.Effective["message-ttl"] != float64(60000) {
		t.Fatalf("q1: policy %v, effective_policy_definition %v", q.Policy, q.Effective)
	}
	q.Policy, q.Effective = nil, nil
	resp = mgmtDo(t, http.MethodGet, hs.URL+"/api/queues/%2F/other", nil)
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		t.Fatal(err)
	}
	if q.Policy != nil || q.Effective == nil || len(q.Effective) != 0 {
		t.Fatalf("other: policy %v, effective_policy_definition %v", q.Policy, q.Effective)
	}
	if resp := mgmtDo(t, http.MethodDelete, hs.URL+"/api/policies/%2F/pol", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE policy: %d", resp.StatusCode)
	}
	if got := publishN(t, ch, "q1", 2); got != 3 {
		t.Fatalf("q1 after the policy: %d messages", got)
	}
}

// A delivery-limit policy limits a quorum queue's redeliveries.
func TestPolicyDeliveryLimit(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "p"))
	setPolicy(t, b, "limit", "^qq$", "queues", 0, map[string]any{"delivery-limit": int64(1)})
	if _, err := ch.QueueDeclare("qq", true, false, false, false, amqp091.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	publishN(t, ch, "qq", 1)
	for range 2 {
		d := get(t, ch, "qq")
		if err := d.Nack(false, true); err != nil {
			t.Fatal(err)
		}
	}
	q, err := ch.QueueDeclarePassive("qq", true, false, false, false, amqp091.Table{"x-queue-type": "quorum"})
	if err != nil || q.Messages != 0 {
		t.Fatalf("after two returns with delivery-limit 1: %d messages, %v", q.Messages, err)
	}
}

// Setting and clearing policies while messages flow is safe (run with
// -race).
func TestPolicyConcurrent(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "p"))
	declare(t, ch, "busy", amqp091.Table{"x-max-priority": int32(5), "x-dead-letter-exchange": "amq.fanout"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := b.Server()
		for i := range 50 {
			_ = s.SetPolicy(broker.Policy{VHost: "/", Name: "p", Pattern: "^busy$", Definition: map[string]any{"max-length": int64(i%5 + 1), "message-ttl": int64(1)}})
			_ = s.ClearPolicy("/", "p")
		}
	}()
	for range 200 {
		publish(t, ch, "busy", []byte("x"))
	}
	<-done
	if _, err := ch.QueueDeclarePassive("busy", false, false, false, false, amqp091.Table{"x-max-priority": int32(5), "x-dead-letter-exchange": "amq.fanout"}); err != nil {
		t.Fatal(err)
	}
}

// A policy with max-length and reject-publish cuts a drop-head queue that
// exists from its head, dead-lettering with the policy's exchange, as
// RabbitMQ 3.10.8 does (it applies max-length before overflow).
func TestPolicyTruncatesExistingQueue(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "p"))
	declare(t, ch, "dl", nil)
	if err := ch.QueueBind("dl", "", "amq.fanout", false, nil); err != nil {
		t.Fatal(err)
	}
	declare(t, ch, "before", nil)
	publishN(t, ch, "before", 5)
	setPolicy(t, b, "hi", "^before$", "queues", 0, map[string]any{"max-length": int64(3), "overflow": "reject-publish", "dead-letter-exchange": "amq.fanout"})
	if got := publishN(t, ch, "before", 0); got != 3 {
		t.Fatalf("after the policy: %d messages, want 3", got)
	}
	if d := get(t, ch, "before"); string(d.Body) != "2" {
		t.Fatalf("head %q, want 2", d.Body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := 0; n != 2; {
		q, err := ch.QueueDeclarePassive("dl", false, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n = q.Messages; time.Now().After(deadline) {
			t.Fatalf("dead-lettered %d, want 2", n)
		}
	}
	// Now reject-publish: a publish over the limit is refused.
	if got := publishN(t, ch, "before", 2); got != 3 {
		t.Fatalf("after two more: %d messages, want 3", got)
	}
	if d := get(t, ch, "before"); string(d.Body) != "3" {
		t.Fatalf("head %q, want 3", d.Body)
	}
}
