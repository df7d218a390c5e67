//go:build integration

package integration

// negotiationAsks are the heartbeats (seconds) each client asks for in scenario 2.
var negotiationAsks = []int{0, 1, 5, 600}

// negotiationExpected is the heartbeat each client ends up with when it asks for
// negotiationAsks against a broker proposing 60 s, which is what the same
// client gets from RabbitMQ 3.10.8. Source: ../shared/docs/rabbitmq-observed.md
// §1 (table "client asks" × client) for amqp091-go 1.16.0, Java 5.0.0, amqplib
// 2.3.1, pika 1.2.0 and Bunny 2.19.0. The clients disagree with each other and
// the broker adopts the client's tune-ok value verbatim, so the broker's own view
// (rabbitmqctl list_connections timeout / the management API's timeout) must equal
// the client's value in every cell.
//
// py-amqp 5.1.1 and amqp-tools 0.11.0 (librabbitmq) are not in that table; their
// rows were measured by this suite against RabbitMQ 3.10.8 (make interop-rabbitmq):
// py-amqp: 0 → 0 (client heartbeat 0 disables), otherwise min(client, server);
// amqp-tools: 0 → 0, otherwise min(client, server) (seen only on the broker side:
// the programs do not print what they negotiated).
//
// amqp091-go is asked through the URI (?heartbeat=N): its Config.Heartbeat = 0
// means "use my default of 10 s", not "ask for 0".
var negotiationExpected = map[string]map[int]int{
	"go":         {0: 60, 1: 1, 5: 5, 600: 60},
	"java":       {0: 60, 1: 1, 5: 5, 600: 60},
	"amqplib":    {0: 0, 1: 1, 5: 5, 600: 60},
	"pika":       {0: 0, 1: 1, 5: 5, 600: 600},
	"bunny":      {0: 0, 1: 1, 5: 5, 600: 60},
	"pyamqp":     {0: 0, 1: 1, 5: 5, 600: 60},
	"amqp-tools": {0: 0, 1: 1, 5: 5, 600: 60},
}

// serverHeartbeat is the broker's proposal in connection.tune (beatmq is started
// with --heartbeat 60; RabbitMQ's default is 60).
const serverHeartbeat = 60
