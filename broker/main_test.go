package broker_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// unit is the HeartbeatUnit of most tests: one protocol second lasts 100 ms.
const unit = 100 * time.Millisecond

// start runs a broker with logs recorded and protocol seconds of u.
func start(t *testing.T, u time.Duration, opts ...brokertest.Option) *brokertest.Broker {
	t.Helper()
	return brokertest.Run(t, append([]brokertest.Option{brokertest.WithLogs(), brokertest.WithHeartbeatUnit(u)}, opts...)...)
}

// connID returns the broker's id for the raw client's connection.
func connID(t *testing.T, b *brokertest.Broker, r *brokertest.RawConn) string {
	t.Helper()
	info, ok := b.WaitConn(2*time.Second, func(c broker.ConnInfo) bool { return c.Peer == r.Conn.LocalAddr().String() })
	if !ok {
		t.Fatalf("no connection from %s", r.Conn.LocalAddr())
	}
	return info.ID
}

// names returns "peer -> local" for the raw client's connection.
func connName(b *brokertest.Broker, r *brokertest.RawConn) string {
	return r.Conn.LocalAddr().String() + " -> " + b.Addr()
}

// wantLog waits until the broker has logged line (everything after the
// timestamp: "[level] <id> message") and fails otherwise.
func wantLog(t *testing.T, b *brokertest.Broker, line string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, l := range strings.Split(b.Logs().String(), "\n") {
			if len(l) > 33 && l[33:] == line {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("log line not found:\n  %s\nlog:\n%s", line, b.Logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noLog fails if a logged message contains substr.
func noLog(t *testing.T, b *brokertest.Broker, substr string) {
	t.Helper()
	if lines := b.Logs().Lines(substr); len(lines) > 0 {
		t.Fatalf("unexpected log line %q", lines[0])
	}
}

// expectClose reads until connection.close arrives and checks it.
func expectClose(t *testing.T, r *brokertest.RawConn, code uint16, text string, classID, methodID uint16) {
	t.Helper()
	c := brokertest.Expect[*amqp.ConnectionClose](r, 3*time.Second)
	if c.ReplyCode != code || c.ReplyText != text || c.ReplyClassID != classID || c.ReplyMethodID != methodID {
		t.Fatalf("connection.close = %d %q %d/%d, want %d %q %d/%d",
			c.ReplyCode, c.ReplyText, c.ReplyClassID, c.ReplyMethodID, code, text, classID, methodID)
	}
}

// openChannel opens channel id on a running raw connection.
func openChannel(t *testing.T, r *brokertest.RawConn, id uint16) {
	t.Helper()
	r.SendMethod(id, &amqp.ChannelOpen{})
	ch, m, err := r.ReadMethod(3 * time.Second)
	if _, ok := m.(*amqp.ChannelOpenOk); err != nil || ch != id || !ok {
		t.Fatalf("channel.open %d: got channel %d %v, %v", id, ch, m, err)
	}
}

// ended waits until connection id has ended and returns its final state.
func ended(t *testing.T, b *brokertest.Broker, id string) broker.ConnInfo {
	t.Helper()
	info, ok := b.WaitConn(3*time.Second, func(c broker.ConnInfo) bool { return c.ID == id && c.State == broker.StateTerminated })
	if !ok {
		t.Fatalf("connection %s has not ended", id)
	}
	return info
}
