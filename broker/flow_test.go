package broker_test

import (
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// Credit flow over a real socket with amqp091-go: while the disk stalls, a
// publisher of persistent messages is held after 400 of them (the rest wait
// in its socket), shown as "flow" and never sent connection.blocked; it is
// not dropped for missed heartbeats however long that lasts, and since the
// client itself drops a broker silent for 1.5 T, staying connected shows the
// broker's heartbeats kept coming. Once the disk catches up, every message
// arrives.
func TestFlowHoldsPublisher(t *testing.T) {
	disk := make(chan struct{})
	var release sync.Once
	open := func() { release.Do(func() { close(disk) }) }
	cfg := broker.DefaultConfig()
	broker.SetBeforeStoreBatch(&cfg, func() { <-disk })
	b := brokertest.Run(t, brokertest.WithConfig(cfg), brokertest.WithDataDir(t.TempDir()), brokertest.WithLogs())
	t.Cleanup(open) // runs before the broker's Close, which waits for the store

	conn, err := amqp091.DialConfig(b.URL(), amqp091.Config{Heartbeat: time.Second,
		Properties: amqp091.Table{"connection_name": "flow"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	blocked := conn.NotifyBlocked(make(chan amqp091.Blocking, 1))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("q", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	published := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			err := ch.Publish("", "q", false, false, amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte("m")})
			if err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	if _, ok := b.WaitConn(5*time.Second, func(c broker.ConnInfo) bool { return c.Flow }); !ok {
		t.Fatalf("the publisher was never held by flow: %+v", b.Connections())
	}
	time.Sleep(4 * time.Second) // 4 T held
	if conn.IsClosed() {
		t.Fatal("the client closed the connection while the broker held it: the broker's heartbeats stopped")
	}
	if cs := b.Connections(); len(cs) != 1 || cs[0].State != broker.StateBlocked || !cs[0].Flow {
		t.Fatalf("after 4 T: %+v", cs)
	}
	if got := readyIn(b.Server(), "q"); got != 400 {
		t.Fatalf("%d messages taken while the disk stalled, want 400", got)
	}
	select {
	case bl := <-blocked:
		t.Fatalf("connection.blocked for flow: %+v", bl)
	default:
	}
	open()
	deadline := time.Now().Add(10 * time.Second)
	for readyIn(b.Server(), "q") < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := readyIn(b.Server(), "q"); got != n {
		t.Fatalf("%d messages after the disk caught up, want %d", got, n)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	// The last writes may still be completing: credit comes back with them.
	if _, ok := b.WaitConn(5*time.Second, func(c broker.ConnInfo) bool { return c.State == broker.StateRunning && !c.Flow }); !ok {
		t.Fatalf("still held after the disk caught up: %+v", b.Connections())
	}
	noLog(t, b, "missed heartbeats")
}

func readyIn(srv *broker.Server, name string) int {
	for _, q := range srv.Queues() {
		if q.Name == name {
			return q.MessagesReady
		}
	}
	return -1
}
