package brokertest_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunAndInspect(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithLogs(), brokertest.WithHeartbeat(7), brokertest.WithFrameMax(8192), brokertest.WithChannelMax(9))
	if b.URL() != "amqp://guest:guest@"+b.Addr()+"/" {
		t.Fatalf("URL %s", b.URL())
	}
	r := brokertest.DialRaw(t, b.Addr())
	tune := r.Handshake("inspect")
	if tune.Heartbeat != 7 || tune.FrameMax != 8192 || tune.ChannelMax != 9 {
		t.Fatalf("tune %+v", tune)
	}
	r.Open(9, 8192, 3)
	info, ok := b.ConnFrom(r.Conn.LocalAddr())
	if !ok || info.Heartbeat != 3 || info.FrameMax != 8192 || info.ChannelMax != 9 || info.State != broker.StateRunning {
		t.Fatalf("info %+v", info)
	}
	r.SendMethod(0, &amqp.ConnectionClose{ReplyCode: 200})
	brokertest.Expect[*amqp.ConnectionCloseOk](r, time.Second)
	_ = r.Conn.Close()
	final, ok := b.WaitClosed(r.Conn.LocalAddr(), 2*time.Second)
	if !ok || final.Reason != broker.ReasonClientClose {
		t.Fatalf("final %+v", final)
	}
	if _, ok := b.Logs().WaitFor("closing AMQP connection", time.Second); !ok {
		t.Fatalf("log: %s", b.Logs())
	}
}

func TestHeartbeatDisabled(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithHeartbeat(0))
	r := brokertest.DialRaw(t, b.Addr())
	if tune := r.Handshake(""); tune.Heartbeat != 0 {
		t.Fatalf("tune %+v", tune)
	}
}

func TestBlocked(t *testing.T) {
	b := brokertest.Run(t)
	b.SetBlocked(true)
	if !b.Server().Blocked() {
		t.Fatal("not blocked")
	}
	b.SetBlocked(false)
}

func TestCloseIsIdempotent(t *testing.T) {
	b, err := brokertest.Start()
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	b.Close()
}

func TestServerAccessors(t *testing.T) {
	b := brokertest.Run(t)
	srv := b.Server()
	if ls := srv.Listeners(); len(ls) != 1 || ls[0].String() != b.Addr() || srv.Addr().String() != b.Addr() {
		t.Fatalf("listeners %v", ls)
	}
	if srv.StartedAt().IsZero() || srv.ClusterName() == "" {
		t.Fatal("no start time or cluster name")
	}
	select {
	case <-srv.Ready():
	case <-time.After(time.Second):
		t.Fatal("not ready")
	}
}
