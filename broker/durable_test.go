package broker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// publishConfirmed publishes n messages to queue with delivery mode mode
// on a new channel of c in confirm mode and waits for every confirm,
// failing on a nack.
func publishConfirmed(t *testing.T, c *amqp091.Connection, queue string, n int, mode uint8, prefix string) {
	t.Helper()
	ch := channel(t, c)
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, n))
	for i := range n {
		err := ch.PublishWithContext(context.Background(), "", queue, false, false,
			amqp091.Publishing{DeliveryMode: mode, Body: fmt.Appendf(nil, "%s%d", prefix, i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case c := <-confirms:
			if !c.Ack {
				t.Fatalf("publish %d nacked", c.DeliveryTag)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d confirms", i, n)
		}
	}
}

// declareDurable declares a durable queue.
func declareDurable(t *testing.T, ch *amqp091.Channel, name string, args amqp091.Table) {
	t.Helper()
	if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
		t.Fatalf("queue.declare %s: %v", name, err)
	}
}

// drainBodies gets every ready message of queue (acking them) and returns
// the bodies, with "*" in front of redelivered ones.
func drainBodies(t *testing.T, ch *amqp091.Channel, queue string) []string {
	t.Helper()
	var out []string
	for range 10000 {
		d, ok, err := ch.Get(queue, false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		s := string(d.Body)
		if d.Redelivered {
			s = "*" + s
		}
		out = append(out, s)
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("too many messages")
	return nil
}

// What survives a restart is what RabbitMQ keeps: persistent messages in
// durable queues, durable exchanges and their bindings; not transient
// messages, non-durable or exclusive queues, or non-durable exchanges.
func TestDurableSurvivesRestart(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "before")
	ch := channel(t, c)
	declareDurable(t, ch, "durq", amqp091.Table{"x-max-length": int32(1000)})
	declare(t, ch, "transientq", nil)
	if _, err := ch.QueueDeclare("", true, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("dx", "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("tx", "fanout", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("durq", "a.#", "dx", false, nil); err != nil {
		t.Fatal(err)
	}
	publishConfirmed(t, c, "durq", 100, amqp091.Persistent, "p")
	publishConfirmed(t, c, "durq", 5, amqp091.Transient, "t")
	publishConfirmed(t, c, "transientq", 5, amqp091.Persistent, "x")
	_ = c.Close()
	for _, q := range b.Server().Queues() {
		want := map[string][2]int{"durq": {105, 100}, "transientq": {5, 0}}[q.Name]
		if q.Exclusive {
			continue
		}
		if got := [2]int{q.Messages, q.MessagesPersistent}; got != want {
			t.Errorf("%s: messages, messages_persistent = %v, want %v", q.Name, got, want)
		}
	}

	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, q := range b.Server().Queues() {
		if q.Name == "durq" && (q.Messages != 100 || q.MessagesPersistent != 100) {
			t.Errorf("durq after restart: %+v", q)
		}
	}
	ch = channel(t, dial(t, b, "after"))
	var want []string
	for i := range 100 {
		want = append(want, fmt.Sprint("p", i))
	}
	if got := drainBodies(t, ch, "durq"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("durq after restart: %v", got)
	}
	for _, q := range b.Server().Queues() {
		if q.Name != "durq" {
			t.Errorf("queue %q survived", q.Name)
		}
	}
	xs := map[string]bool{}
	for _, x := range b.Server().Exchanges() {
		xs[x.Name] = true
	}
	if !xs["dx"] || xs["tx"] {
		t.Errorf("exchanges after restart: %v", xs)
	}
	var bound bool
	for _, bi := range b.Server().Bindings() {
		bound = bound || (bi.Source == "dx" && bi.Destination == "durq" && bi.RoutingKey == "a.#")
	}
	if !bound {
		t.Error("binding dx -> durq lost")
	}
	// Redeclaring with the same arguments works: their types survived.
	declareDurable(t, ch, "durq", amqp091.Table{"x-max-length": int32(1000)})
}

// A message delivered and not acked before the stop comes back redelivered;
// one acked does not come back; one taken by a no-ack consumer is gone.
func TestDurableRedeliveredAfterRestart(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "before")
	ch := channel(t, c)
	declareDurable(t, ch, "q", nil)
	publishConfirmed(t, c, "q", 4, amqp091.Persistent, "m")
	acked := get(t, ch, "q")
	if err := acked.Ack(false); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ch.Get("q", true); err != nil || !ok { // m1, no-ack
		t.Fatalf("no-ack get: %v %v", ok, err)
	}
	_ = get(t, ch, "q") // m2, left unacked
	// The acks ride with the next sync: a confirmed publish forces one.
	publishConfirmed(t, c, "q", 1, amqp091.Persistent, "z")
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	ch = channel(t, dial(t, b, "after"))
	if got := strings.Join(drainBodies(t, ch, "q"), ","); got != "*m2,m3,z0" {
		t.Fatalf("after restart: %s, want *m2,m3,z0", got)
	}
}

// tx.commit writes the committed persistent messages before commit-ok.
func TestDurableTransaction(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	ch := channel(t, dial(t, b, "tx"))
	declareDurable(t, ch, "q", nil)
	if err := ch.Tx(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := ch.PublishWithContext(context.Background(), "", "q", false, false,
			amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: fmt.Appendf(nil, "c%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.TxCommit(); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(context.Background(), "", "q", false, false,
		amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte("rolled back")}); err != nil {
		t.Fatal(err)
	}
	if err := ch.TxRollback(); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	ch = channel(t, dial(t, b, "after"))
	if got := strings.Join(drainBodies(t, ch, "q"), ","); got != "c0,c1,c2" {
		t.Fatalf("after restart: %s", got)
	}
}

// A deleted or purged durable queue stays deleted or empty after a restart.
func TestDurableDeleteAndPurge(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "del")
	ch := channel(t, c)
	declareDurable(t, ch, "gone", nil)
	declareDurable(t, ch, "purged", nil)
	publishConfirmed(t, c, "gone", 3, amqp091.Persistent, "g")
	publishConfirmed(t, c, "purged", 3, amqp091.Persistent, "p")
	if _, err := ch.QueueDelete("gone", false, false, false); err != nil {
		t.Fatal(err)
	}
	if n, err := ch.QueuePurge("purged", false); err != nil || n != 3 {
		t.Fatalf("purge: %d %v", n, err)
	}
	publishConfirmed(t, c, "purged", 1, amqp091.Persistent, "after")
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	ch = channel(t, dial(t, b, "after"))
	if got := strings.Join(drainBodies(t, ch, "purged"), ","); got != "after0" {
		t.Fatalf("purged after restart: %s", got)
	}
	if _, err := ch.QueueDeclarePassive("gone", true, false, false, false, nil); err == nil {
		t.Fatal("deleted queue came back")
	}
}

// Per-message TTL keeps counting from the original publish across a
// restart: a message whose TTL ran out while the broker was down is gone.
func TestDurableTTLCountsFromPublish(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	ch := channel(t, dial(t, b, "ttl"))
	declareDurable(t, ch, "q", nil)
	for _, p := range []amqp091.Publishing{
		{DeliveryMode: amqp091.Persistent, Expiration: "300", Body: []byte("short")},
		{DeliveryMode: amqp091.Persistent, Expiration: "600000", Body: []byte("long")},
	} {
		if err := ch.PublishWithContext(context.Background(), "", "q", false, false, p); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, ch, "q", 2)
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	ch = channel(t, dial(t, b, "after"))
	if got := strings.Join(drainBodies(t, ch, "q"), ","); got != "long" {
		t.Fatalf("after restart: %s", got)
	}
}

// A second broker on the same data directory is refused; so is a
// directory that holds something else.
func TestDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	brokertest.Run(t, brokertest.WithDataDir(dir))
	cfg := broker.Config{DataDir: dir}
	if _, err := broker.New(cfg); err == nil || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("second broker on %s: %v", dir, err)
	}
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := broker.New(broker.Config{DataDir: foreign}); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("foreign directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("foreign file touched: %q %v", b, err)
	}
}
