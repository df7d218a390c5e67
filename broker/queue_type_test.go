package broker_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// quorum returns x-queue-type quorum plus extra.
func quorum(extra amqp091.Table) amqp091.Table {
	t := amqp091.Table{"x-queue-type": "quorum"}
	for k, v := range extra {
		t[k] = v
	}
	return t
}

// declareQuorum declares a durable quorum queue.
func declareQuorum(t *testing.T, ch *amqp091.Channel, name string, extra amqp091.Table) {
	t.Helper()
	if _, err := ch.QueueDeclare(name, true, false, false, false, quorum(extra)); err != nil {
		t.Fatalf("declare quorum queue %s: %v", name, err)
	}
}

// deliveryCount describes d as "body:count", count being its
// x-delivery-count header or "-", with "*" in front when redelivered.
func deliveryCount(d amqp091.Delivery) string {
	n := "-"
	if v, ok := d.Headers["x-delivery-count"]; ok {
		n = fmt.Sprintf("%v(%T)", v, v)
	}
	s := fmt.Sprintf("%s:%s", d.Body, n)
	if d.Redelivered {
		s = "*" + s
	}
	return s
}

// getAll gets every message of queue with no-ack and describes them.
func getAll(t *testing.T, ch *amqp091.Channel, queue string) []string {
	t.Helper()
	var out []string
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, deliveryCount(d))
	}
}

func TestQueueTypeDeclareErrors(t *testing.T) {
	b := brokertest.Run(t)
	decl := func(name string, durable, autoDelete, exclusive bool, args amqp091.Table) func(ch *amqp091.Channel) error {
		return func(ch *amqp091.Channel) error {
			_, err := ch.QueueDeclare(name, durable, autoDelete, exclusive, false, args)
			return err
		}
	}
	q := func(args amqp091.Table) func(ch *amqp091.Channel) error {
		return decl("q", true, false, false, quorum(args))
	}
	invalidKey := func(arg string) string {
		return "PRECONDITION_FAILED - invalid arg '" + arg + "' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue"
	}
	then := func(first, second func(ch *amqp091.Channel) error) func(ch *amqp091.Channel) error {
		return func(ch *amqp091.Channel) error {
			if err := first(ch); err != nil {
				return err
			}
			return second(ch)
		}
	}
	cases := []struct {
		name string
		f    func(ch *amqp091.Channel) error
		code int
		text string
	}{
		{"non-durable", decl("q", false, false, false, quorum(nil)), 406, "PRECONDITION_FAILED - invalid property 'non-durable' for queue 'q' in vhost '/'"},
		{"exclusive", decl("q", true, false, true, quorum(nil)), 406, "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue 'q' in vhost '/'"},
		{"exclusive non-durable", decl("q", false, false, true, quorum(nil)), 406, "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue 'q' in vhost '/'"},
		{"auto-delete first", decl("q", false, true, true, quorum(nil)), 406, "PRECONDITION_FAILED - invalid property 'auto-delete' for queue 'q' in vhost '/'"},
		{"arguments first", decl("q", false, false, false, quorum(amqp091.Table{"x-max-priority": int32(5)})), 406, invalidKey("x-max-priority")},
		{"x-max-priority", q(amqp091.Table{"x-max-priority": "x"}), 406, invalidKey("x-max-priority")},
		{"x-queue-mode", q(amqp091.Table{"x-queue-mode": "lazy"}), 406, invalidKey("x-queue-mode")},
		{"x-queue-version", q(amqp091.Table{"x-queue-version": int32(2)}), 406, invalidKey("x-queue-version")},
		{"x-queue-master-locator", q(amqp091.Table{"x-queue-master-locator": "min-masters"}), 406, invalidKey("x-queue-master-locator")},
		{"x-max-age", q(amqp091.Table{"x-max-age": "1D"}), 406, invalidKey("x-max-age")},
		{"x-overflow", q(amqp091.Table{"x-overflow": "bogus"}), 406, "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue 'q' in vhost '/': invalid_overflow"},
		{"x-dead-letter-strategy", q(amqp091.Table{"x-dead-letter-strategy": "bogus"}), 406, "PRECONDITION_FAILED - invalid arg 'x-dead-letter-strategy' for queue 'q' in vhost '/': invalid_dlx_strategy"},
		{"x-max-in-memory-length", q(amqp091.Table{"x-max-in-memory-length": int32(-1)}), 406, "PRECONDITION_FAILED - invalid arg 'x-max-in-memory-length' for queue 'q' in vhost '/': {value_negative,-1}"},
		{"x-quorum-initial-group-size", q(amqp091.Table{"x-quorum-initial-group-size": int32(0)}), 406, "PRECONDITION_FAILED - invalid arg 'x-quorum-initial-group-size' for queue 'q' in vhost '/': {value_zero,0}"},
		{"x-queue-leader-locator", q(amqp091.Table{"x-queue-leader-locator": "bogus"}), 406, "PRECONDITION_FAILED - invalid arg 'x-queue-leader-locator' for queue 'q' in vhost '/': invalid_queue_locator_arg"},
		{"at-least-once", q(amqp091.Table{"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish", "x-dead-letter-exchange": "dlx"}), 406,
			"PRECONDITION_FAILED - invalid arg 'x-dead-letter-strategy' for queue 'q' in vhost '/': at-least-once dead-lettering is not supported by beatmq"},
		{"server-named quorum", decl("", true, false, false, quorum(nil)), 406, "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue"},
		{"server-named stream", decl("", true, false, false, amqp091.Table{"x-queue-type": "stream"}), 406, "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_stream_queue"},
		{"stream", decl("q", true, false, false, amqp091.Table{"x-queue-type": "stream"}), 406, "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'q' in vhost '/': stream queues are not supported by beatmq"},
		{"unknown type", decl("q", true, false, false, amqp091.Table{"x-queue-type": "foo"}), 406, `PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'q' in vhost '/': "unsupported queue type 'foo'"`},
		{"type not a string", decl("q", true, false, false, amqp091.Table{"x-queue-type": int32(5)}), 406, "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'q' in vhost '/': {unacceptable_type,signedint}"},
		{"classic x-delivery-limit", decl("q", true, false, false, amqp091.Table{"x-delivery-limit": int32(5)}), 406, "PRECONDITION_FAILED - invalid arg 'x-delivery-limit' for queue 'q' in vhost '/' of queue type rabbit_classic_queue"},
		{"redeclared without type", then(q(nil), decl("q", true, false, false, nil)), 406,
			"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received none but current is the value 'quorum' of type 'longstr'"},
		{"redeclared classic", then(q(nil), decl("q", true, false, false, amqp091.Table{"x-queue-type": "classic"})), 406,
			"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'classic' but current is 'quorum'"},
		{"redeclared with a limit", then(q(nil), q(amqp091.Table{"x-delivery-limit": int32(3)})), 406,
			"PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received the value '3' of type 'signedint' but current is none"},
		{"classic redeclared quorum", then(decl("q", true, false, false, nil), q(nil)), 406,
			"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"},
		{"delete if-unused", then(q(nil), func(ch *amqp091.Channel) error { _, err := ch.QueueDelete("q", true, false, false); return err }), 540,
			"NOT_IMPLEMENTED - cannot delete queue 'q' in vhost '/'. queue.delete operations with if-unused flag set are not supported by quorum queues"},
		{"delete if-empty", then(q(nil), func(ch *amqp091.Channel) error { _, err := ch.QueueDelete("q", false, true, false); return err }), 540,
			"NOT_IMPLEMENTED - cannot delete queue 'q' in vhost '/'. queue.delete operations with if-empty flag set are not supported by quorum queues"},
		{"global qos", then(q(nil), func(ch *amqp091.Channel) error {
			if err := ch.Qos(5, 0, true); err != nil {
				return err
			}
			_, err := ch.Consume("q", "", false, false, false, false, nil)
			return err
		}), 540, "NOT_IMPLEMENTED - queue 'q' in vhost '/' does not support global qos"},
		{"x-stream-offset", then(q(nil), func(ch *amqp091.Channel) error {
			_, err := ch.Consume("q", "", false, false, false, false, amqp091.Table{"x-stream-offset": "first"})
			return err
		}), 406, invalidKey("x-stream-offset")},
		{"x-cancel-on-ha-failover", then(q(nil), func(ch *amqp091.Channel) error {
			_, err := ch.Consume("q", "", false, false, false, false, amqp091.Table{"x-cancel-on-ha-failover": true})
			return err
		}), 406, invalidKey("x-cancel-on-ha-failover")},
		{"x-priority", then(q(nil), func(ch *amqp091.Channel) error {
			_, err := ch.Consume("q", "", false, false, false, false, amqp091.Table{"x-priority": "x"})
			return err
		}), 406, `PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'q' in vhost '/': "expected integer, got longstr"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantAMQPError(t, chanError(t, b, c.f), c.code, c.text)
			// Each case starts without the queue.
			ch := channel(t, dial(t, b, "cleanup"))
			if _, err := ch.QueueDelete("q", false, false, false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// What RabbitMQ 3.10.8 accepts for a quorum queue, beatmq accepts too, and
// logs the same warnings where RabbitMQ replaces a setting.
func TestQueueTypeAccepted(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithLogs())
	ch := channel(t, dial(t, b, "accepted"))
	for i, args := range []amqp091.Table{
		{"x-message-ttl": int32(1000), "x-expires": int32(100000), "x-max-length": int32(5), "x-single-active-consumer": true},
		{"x-delivery-limit": "abc"},
		{"x-delivery-limit": int32(-1)},
		{"x-delivery-limit": 1.5},
		{"x-overflow": "reject-publish-dlx"},
		{"x-dead-letter-strategy": "at-least-once", "x-dead-letter-exchange": "dlx"},
		{"x-dead-letter-strategy": "at-most-once"},
		{"x-queue-leader-locator": "balanced", "x-quorum-initial-group-size": int32(3), "x-max-in-memory-length": int32(10)},
		{"x-foo": int32(1)},
	} {
		declareQuorum(t, ch, fmt.Sprint("q", i), args)
	}
	// Redeclaring checks the quorum type's arguments only.
	declareQuorum(t, ch, "q0", amqp091.Table{"x-message-ttl": int32(1000), "x-expires": int32(100000), "x-max-length": int32(5), "x-single-active-consumer": true, "x-max-priority": int32(3)})
	// rabbit_fifo enforces no exclusive consumer.
	if _, err := ch.Consume("q1", "", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("q1", "", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	// A global limit of 0 is no limit.
	if err := ch.Qos(0, 0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("q2", "", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	logs := b.Logs().String()
	for _, want := range []string{
		`Invalid overflow strategy <<"reject-publish-dlx">> for quorum queue: queue 'q4' in vhost '/'`,
		"Falling back to dead-letter-strategy at-most-once for queue 'q5' in vhost '/' because configured dead-letter-strategy at-least-once is incompatible with effective overflow strategy drop-head. To enable dead-letter-strategy at-least-once, set overflow strategy to reject-publish.",
		"Disabling dead-lettering for queue 'q6' in vhost '/' despite configured dead-letter-strategy 'at-most-once' because dead-letter-exchange is not configured.",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// x-delivery-limit 2: a message is delivered three times, then
// dead-lettered with reason delivery_limit; deliveries after a requeue
// carry x-delivery-count (observed on RabbitMQ 3.10.8 with this scenario).
func TestQuorumDeliveryLimit(t *testing.T) {
	b := brokertest.Run(t)
	ch := channel(t, dial(t, b, "limit"))
	if err := ch.ExchangeDeclare("dlx", "fanout", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	declare(t, ch, "dead", nil)
	if err := ch.QueueBind("dead", "", "dlx", false, nil); err != nil {
		t.Fatal(err)
	}
	declareQuorum(t, ch, "lim", amqp091.Table{"x-delivery-limit": int32(2), "x-dead-letter-exchange": "dlx"})
	pub(t, ch, "", "lim", false, amqp091.Publishing{Body: []byte("m1"), Headers: amqp091.Table{"h": "v"}})
	pub(t, ch, "", "lim", false, amqp091.Publishing{Body: []byte("m2")})
	ds, err := ch.Consume("lim", "lim", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		d := next(t, ds)
		got = append(got, deliveryCount(d))
		if d.Headers["h"] != nil && d.Headers["h"] != "v" {
			t.Fatalf("headers %v", d.Headers)
		}
		if string(d.Body) == "m2" {
			_ = d.Ack(false)
		} else {
			_ = d.Nack(false, true)
		}
	}
	none(t, ds, "delivery")
	want := "m1:- m2:- *m1:1(int64) *m1:2(int64)"
	if strings.Join(got, " ") != want {
		t.Fatalf("deliveries %v, want %s", got, want)
	}
	d := get(t, ch, "dead")
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) != 1 || string(d.Body) != "m1" || d.Headers["x-first-death-reason"] != "delivery_limit" {
		t.Fatalf("dead-lettered %q: %v", d.Body, d.Headers)
	}
	death := deaths[0].(amqp091.Table)
	if death["reason"] != "delivery_limit" || death["queue"] != "lim" || death["count"] != int64(1) || d.Headers["h"] != "v" {
		t.Fatalf("x-death %v", death)
	}
	if _, ok := d.Headers["x-delivery-count"]; ok {
		t.Fatalf("dead-lettered with x-delivery-count: %v", d.Headers)
	}
}

// The delivery count and where a requeued message goes, as observed on
// RabbitMQ 3.10.8: to the back when the client requeues it on a queue
// without x-delivery-limit, back to its place otherwise.
func TestQuorumDeliveryCount(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "count")
	ch := channel(t, c)
	dead := func(q string, args amqp091.Table) {
		if err := ch.ExchangeDeclare("dlx", "fanout", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		declare(t, ch, "dead", nil)
		if err := ch.QueueBind("dead", "", "dlx", false, nil); err != nil {
			t.Fatal(err)
		}
		args["x-dead-letter-exchange"] = "dlx"
		declareQuorum(t, ch, q, args)
	}
	fill := func(q string, args amqp091.Table) {
		t.Helper()
		dead(q, args)
		for _, m := range []string{"o1", "o2", "o3"} {
			publish(t, ch, q, []byte(m))
		}
		// A synchronous method on the same channel: the publishes are in.
		if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	// basic.get always carries the count.
	fill("get", amqp091.Table{})
	d := get(t, ch, "get")
	if got := deliveryCount(d); got != "o1:0(int64)" {
		t.Fatalf("first get: %s", got)
	}
	_ = d.Reject(true)
	if got := strings.Join(getAll(t, ch, "get"), " "); got != "o2:0(int64) o3:0(int64) *o1:1(int64)" {
		t.Fatalf("after reject: %s", got)
	}

	for _, c := range []struct {
		name    string
		args    amqp091.Table
		requeue func(ch *amqp091.Channel, d amqp091.Delivery)
		want    string
	}{
		{"nack, no limit", amqp091.Table{}, func(_ *amqp091.Channel, d amqp091.Delivery) { _ = d.Nack(false, true) }, "o2:0 o3:0 *o1:1"},
		{"recover, no limit", amqp091.Table{}, func(ch *amqp091.Channel, _ amqp091.Delivery) { _ = ch.Recover(true) }, "o2:0 o3:0 *o1:1"},
		{"nack, limit", amqp091.Table{"x-delivery-limit": int32(10)}, func(_ *amqp091.Channel, d amqp091.Delivery) { _ = d.Nack(false, true) }, "*o1:1 o2:0 o3:0"},
		{"nack, limit not a number", amqp091.Table{"x-delivery-limit": "abc"}, func(_ *amqp091.Channel, d amqp091.Delivery) { _ = d.Nack(false, true) }, "*o1:1 o2:0 o3:0"},
		{"channel closed, no limit", amqp091.Table{}, func(ch *amqp091.Channel, _ amqp091.Delivery) { _ = ch.Close() }, "*o1:1 o2:0 o3:0"},
		{"limit 0", amqp091.Table{"x-delivery-limit": int32(0)}, func(_ *amqp091.Channel, d amqp091.Delivery) { _ = d.Nack(false, true) }, "o2:0 o3:0 dead:o1"},
		{"limit -1", amqp091.Table{"x-delivery-limit": int32(-1)}, func(_ *amqp091.Channel, d amqp091.Delivery) { _ = d.Nack(false, true) }, "o2:0 o3:0 dead:o1"},
		{"limit 0.5", amqp091.Table{"x-delivery-limit": 0.5}, func(_ *amqp091.Channel, d amqp091.Delivery) { _ = d.Nack(false, true) }, "o2:0 o3:0 dead:o1"},
		{"limit 1.5", amqp091.Table{"x-delivery-limit": 1.5}, func(_ *amqp091.Channel, d amqp091.Delivery) { _ = d.Nack(false, true) }, "*o1:1 o2:0 o3:0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := strings.ReplaceAll(c.name, " ", "")
			fill(q, c.args)
			other := channel(t, dial(t, b, "requeue"))
			c.requeue(other, get(t, other, q))
			_ = other.Close()
			time.Sleep(20 * time.Millisecond)
			var got []string
			for _, s := range getAll(t, ch, q) {
				got = append(got, strings.ReplaceAll(s, "(int64)", ""))
			}
			for _, s := range getAll(t, ch, "dead") {
				got = append(got, "dead:"+strings.Split(s, ":")[0])
			}
			if strings.Join(got, " ") != c.want {
				t.Fatalf("after requeue: %v, want %s", got, c.want)
			}
		})
	}

	// A connection that goes counts as a return, too.
	fill("conn", amqp091.Table{})
	c2 := dial(t, b, "gone")
	ch2 := channel(t, c2)
	ds, err := ch2.Consume("conn", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	next(t, ds)
	_ = c2.Close()
	time.Sleep(20 * time.Millisecond)
	if got := strings.Join(getAll(t, ch, "conn"), " "); !strings.HasPrefix(got, "*o1:1(int64)") {
		t.Fatalf("after the connection went: %s", got)
	}
}

// A message requeued to the back of a quorum queue that pages goes to the
// page file with its count and comes back with it.
func TestQuorumDeliveryCountPaged(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	ch := channel(t, dial(t, b, "paged"))
	declareQuorum(t, ch, "big", nil)
	const n = 2100 // more than the 2,048 a queue keeps in memory
	for i := range n {
		publish(t, ch, "big", fmt.Appendf(nil, "m%d", i))
	}
	d := get(t, ch, "big")
	_ = d.Nack(false, true)
	var last amqp091.Delivery
	for i := range n {
		var ok bool
		var err error
		last, ok, err = ch.Get("big", true)
		if err != nil || !ok {
			t.Fatalf("get %d: %v %v", i, ok, err)
		}
	}
	if got := deliveryCount(last); got != "*m0:1(int64)" {
		t.Fatalf("last message %s, want the requeued m0 with its count", got)
	}
}

// The type shows in /api/queues as RabbitMQ shows it, and a quorum queue
// and its delivery limit survive a restart.
func TestQueueTypeAPIAndRestart(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "before")
	ch := channel(t, c)
	declareDurable(t, ch, "classic", nil)
	declareQuorum(t, ch, "qq", amqp091.Table{"x-delivery-limit": int32(0)})
	publishConfirmed(t, c, "qq", 1, amqp091.Persistent, "p")
	_ = c.Close()
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	hs := mgmtServer(t, b)
	resp := mgmtDo(t, http.MethodGet, hs.URL+"/api/queues", nil)
	var qs []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&qs); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, q := range qs {
		types[q["name"].(string)] = q["type"].(string)
		if q["name"] == "qq" && (q["leader"] == nil || fmt.Sprint(q["members"]) != fmt.Sprintf("[%v]", q["leader"])) {
			t.Errorf("qq: leader %v, members %v", q["leader"], q["members"])
		}
	}
	if fmt.Sprint(types) != "map[classic:classic qq:quorum]" {
		t.Fatalf("types after restart: %v", types)
	}
	ch = channel(t, dial(t, b, "after"))
	declareQuorum(t, ch, "qq", amqp091.Table{"x-delivery-limit": int32(0)})
	d := get(t, ch, "qq")
	if got := deliveryCount(d); got != "p0:0(int64)" {
		t.Fatalf("after restart: %s", got)
	}
	_ = d.Nack(false, true) // past the limit of 0: dropped
	if got := getAll(t, ch, "qq"); len(got) != 0 {
		t.Fatalf("left after nack: %v", got)
	}
}
