package brokertest_test

import (
	"fmt"
	"log"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// WithTLS adds an amqps listener whose certificate comes from a CA made for
// the broker; ClientTLS gives a client that CA and, for EXTERNAL, a client
// certificate whose CN is the user. EXTERNAL is offered only when listed,
// as with RabbitMQ's auth_mechanisms. The listener survives Restart on the
// same port.
func ExampleWithTLS() {
	b, err := brokertest.Start(brokertest.WithTLS(),
		brokertest.WithAuthMechanisms("PLAIN", "AMQPLAIN", "EXTERNAL"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	tc, err := b.ClientTLS("guest")
	if err != nil {
		log.Fatal(err)
	}
	login := func() {
		conn, err := amqp091.DialConfig("amqps://"+b.TLSAddr()+"/", amqp091.Config{
			SASL:            []amqp091.Authentication{&amqp091.ExternalAuth{}},
			TLSClientConfig: tc,
			Properties:      amqp091.Table{"connection_name": "tls-example"},
		})
		if err != nil {
			log.Fatal(err)
		}
		info, _ := b.Conn("tls-example")
		fmt.Println(info.User, info.AuthMechanism, info.TLS.Version != "")
		_ = conn.Close()
	}
	login()
	addr := b.TLSAddr()
	if err := b.Restart(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("same address:", b.TLSAddr() == addr)
	login()
	// Output:
	// guest EXTERNAL true
	// same address: true
	// guest EXTERNAL true
}
