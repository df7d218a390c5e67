package brokertest_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// consumer is the code under test in the examples below: an application's
// consumer of queue "jobs" that keeps its connection alive, dialing again
// whenever the connection dies. It reports what happens on events.
type consumer struct {
	events chan string
	stop   chan struct{}
	done   chan struct{}
}

func startConsumer(url, name string) *consumer {
	c := &consumer{events: make(chan string, 16), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run(url, name)
	return c
}

func (c *consumer) run(url, name string) {
	defer close(c.done)
	for attempt := 0; attempt < 5; attempt++ { // bounded, as every loop in a test
		conn, err := amqp091.DialConfig(url, amqp091.Config{
			Heartbeat:  time.Second, // the client detects a silent broker after 1.5 s
			Properties: amqp091.Table{"connection_name": name},
		})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
		ch, err := conn.Channel()
		if err == nil {
			_, err = ch.QueueDeclare("jobs", false, false, false, false, nil)
		}
		var deliveries <-chan amqp091.Delivery
		if err == nil {
			deliveries, err = ch.Consume("jobs", "", false, false, false, false, nil)
		}
		if err != nil {
			_ = conn.Close()
			continue
		}
		c.events <- "connected"
	serve:
		for {
			select {
			case d, ok := <-deliveries:
				if !ok {
					deliveries = nil // the connection is going; its close comes next
					continue
				}
				c.events <- fmt.Sprintf("got %s redelivered=%v", d.Body, d.Redelivered)
				_ = d.Ack(false)
			case err := <-closed:
				c.events <- "lost: " + describe(err)
				break serve
			case <-c.stop:
				_ = conn.Close()
				return
			}
		}
	}
}

// describe says how amqp091-go reported the end of its connection.
func describe(err *amqp091.Error) string {
	switch {
	case err == nil:
		return "closed"
	case strings.Contains(err.Reason, "i/o timeout"):
		return "missed heartbeats from the broker" // amqp091-go: 501 "read tcp …: i/o timeout"
	case strings.Contains(err.Reason, "connection reset"):
		return "connection reset by the broker"
	}
	return err.Error()
}

// next prints the consumer's next event, or says that none came.
func (c *consumer) next() {
	select {
	case e := <-c.events:
		fmt.Println(e)
	case <-time.After(10 * time.Second):
		fmt.Println("no event within 10s")
	}
}

// nextLost prints the consumer's next event, which should be the loss of
// its connection, without the reason.
func (c *consumer) nextLost() {
	select {
	case e := <-c.events:
		if strings.HasPrefix(e, "lost: ") {
			e = "lost the connection"
		}
		fmt.Println(e)
	case <-time.After(10 * time.Second):
		fmt.Println("no event within 10s")
	}
}

func (c *consumer) close() {
	close(c.stop)
	<-c.done
}

// endOf waits until the broker has ended the connection with id and prints
// why.
func endOf(b *brokertest.Broker, id string) {
	info, ok := b.WaitConn(10*time.Second, func(c brokertest.ConnInfo) bool {
		return c.ID == id && c.State == brokertest.StateTerminated
	})
	if !ok {
		fmt.Println("the broker kept the old connection")
		return
	}
	fmt.Println("broker ended the old connection:", info.Reason)
}

// The broker stops sending heartbeats (and has nothing else to send): does
// the client notice a silent broker, and reconnect? amqp091-go gives up
// reading after 1.5 T and dials again. The broker, which still hears the
// client's heartbeats, sees it leave.
func ExampleBroker_Fault_muteHeartbeats() {
	b, err := brokertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	c := startConsumer(b.URL(), "app")
	defer c.close()
	c.next()
	old, _ := b.Conn("app")

	if err := b.Fault("app", broker.Fault{Kind: broker.FaultMuteHeartbeats}); err != nil {
		log.Fatal(err)
	}
	c.next()
	c.next()
	endOf(b, old.ID)
	// Output:
	// connected
	// lost: missed heartbeats from the broker
	// connected
	// broker ended the old connection: client_unexpectedly_closed
}

// Half-open: the client's host, as the broker sees it, has vanished, and the
// broker, as the client sees it, has too. A message published now is
// delivered into the void. The client detects the silence after 1.5 T and
// reconnects; the broker detects it by its own heartbeat receiver 2–3 T
// after the last octet that got through, closes the old connection for
// missed heartbeats and requeues the delivery, which reaches the new
// connection marked redelivered.
//
// (The broker's close resets the socket, and unlike a vanished host's, this
// client is still there to receive the RST: in the rare run where the broker's
// check comes first, amqp091-go reports a reset instead of its read timeout.
// So the example prints only that the connection was lost.)
func ExampleBroker_Fault_halfOpen() {
	b, err := brokertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	c := startConsumer(b.URL(), "app")
	defer c.close()
	c.next()
	old, _ := b.Conn("app")

	if err := b.Fault("app", broker.Fault{Kind: broker.FaultHalfOpen}); err != nil {
		log.Fatal(err)
	}
	pub, err := amqp091.Dial(b.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()
	ch, err := pub.Channel()
	if err != nil {
		log.Fatal(err)
	}
	if err := ch.Publish("", "jobs", false, false, amqp091.Publishing{Body: []byte("job-1")}); err != nil {
		log.Fatal(err)
	}
	c.nextLost() // almost always "missed heartbeats from the broker"; see below
	c.next()
	c.next()
	endOf(b, old.ID)
	// Output:
	// connected
	// lost the connection
	// connected
	// got job-1 redelivered=true
	// broker ended the old connection: missed_heartbeats
}

// Reset: the broker resets the socket (RST, no connection.close), as a
// crashed broker host or a middlebox would. amqp091-go reports the reset and
// the consumer dials again at once.
func ExampleBroker_Fault_reset() {
	b, err := brokertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	c := startConsumer(b.URL(), "app")
	defer c.close()
	c.next()
	old, _ := b.Conn("app")

	if err := b.Fault("app", broker.Fault{Kind: broker.FaultReset}); err != nil {
		log.Fatal(err)
	}
	c.next()
	c.next()
	endOf(b, old.ID)
	// Output:
	// connected
	// lost: connection reset by the broker
	// connected
	// broker ended the old connection: fault_reset
}
