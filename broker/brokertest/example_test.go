package brokertest_test

import (
	"fmt"
	"log"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// A test starts a broker with brokertest.Run(t) and connects with any client;
// here Start and Close stand in for Run, which needs a *testing.T.
func Example() {
	b, err := brokertest.Start(brokertest.WithHeartbeatUnit(100 * time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	conn, err := amqp091.DialConfig(b.URL(), amqp091.Config{
		Heartbeat:  5 * time.Second,
		Properties: amqp091.Table{"connection_name": "example"},
	})
	if err != nil {
		log.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		log.Fatal(err)
	}

	info, _ := b.Conn("example")
	fmt.Println("heartbeat:", info.Heartbeat, "channels:", info.Channels, "state:", info.State)

	_ = ch.Close()
	_ = conn.Close()
	info, _ = b.WaitConn(time.Second, func(c brokertest.ConnInfo) bool {
		return c.ClientName == "example" && c.State == brokertest.StateTerminated
	})
	fmt.Println("closed:", info.Reason)
	// Output:
	// heartbeat: 5 channels: 1 state: running
	// closed: client_close
}
