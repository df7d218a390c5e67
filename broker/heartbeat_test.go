package broker_test

import (
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// hbUnit is the protocol second of the missed-heartbeat tests: T = 1 lasts
// 200 ms, so detection falls 400–600 ms after the last octet.
const hbUnit = 200 * time.Millisecond

// Any inbound octet counts, not only heartbeats: channel.flow every 0.9 T
// keeps the connection.
func TestAnyTrafficKeepsConnection(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("traffic", 1)
	openChannel(t, r, 1)
	end := time.Now().Add(6 * hbUnit)
	for time.Now().Before(end) {
		time.Sleep(9 * hbUnit / 10)
		r.SendMethod(1, &amqp.ChannelFlow{Active: true})
		brokertest.Expect[*amqp.ChannelFlowOk](r, time.Second)
	}
	noLog(t, b, "missed heartbeats")
}
