package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/broker/vhost"
)

// queueInfo returns the named queue's figures, failing if it is not there.
func queueInfo(t *testing.T, b *brokertest.Broker, name string) vhost.QueueInfo {
	t.Helper()
	for _, q := range b.Server().Queues() {
		if q.Name == name {
			return q
		}
	}
	t.Fatalf("no queue %q", name)
	return vhost.QueueInfo{}
}

// A persistent backlog larger than a queue's paging window comes back
// from a restart through the window: most of it paged out, not in
// memory, and every message delivered once, in publish order.
func TestRecoveredBacklogIsPaged(t *testing.T) {
	const n = 20000 // ten times the window
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	c := dial(t, b, "before")
	declareDurable(t, channel(t, c), "backlog", nil)
	publishConfirmed(t, c, "backlog", n, amqp091.Persistent, "m")
	_ = c.Close()
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	q := queueInfo(t, b, "backlog")
	if q.Messages != n || q.MessagesPersistent != n {
		t.Fatalf("after restart: %d messages, %d persistent; want %d", q.Messages, q.MessagesPersistent, n)
	}
	if q.MessagesPagedOut < n/2 || (q.Messages-q.MessagesPagedOut) > n/4 {
		t.Errorf("after restart: %d paged out, %d in memory; want most of %d paged", q.MessagesPagedOut, (q.Messages - q.MessagesPagedOut), n)
	}
	t.Logf("after restart: %d paged out, %d in memory", q.MessagesPagedOut, (q.Messages - q.MessagesPagedOut))

	ch := channel(t, dial(t, b, "after"))
	if err := ch.Qos(500, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.ConsumeWithContext(context.Background(), "backlog", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(60 * time.Second)
	for i := range n {
		select {
		case d := <-ds:
			if want := fmt.Sprint("m", i); string(d.Body) != want {
				t.Fatalf("delivery %d: %q, want %q", i, d.Body, want)
			}
			if err := d.Ack(false); err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatalf("%d of %d delivered after 60 s", i, n)
		}
	}
	// The last acks may still be on their way.
	q = queueInfo(t, b, "backlog")
	for i := 0; i < 100 && q.Messages != 0; i++ {
		time.Sleep(20 * time.Millisecond)
		q = queueInfo(t, b, "backlog")
	}
	if q.Messages != 0 || q.MessagesPagedOut != 0 {
		t.Errorf("after draining: %+v", q)
	}
}
