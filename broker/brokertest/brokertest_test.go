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

// Options follow the rule of beatmq's flags: an option left out is RabbitMQ's
// default, 0 is what RabbitMQ's configuration means by 0 (none, broker.None
// in Config), anything else is itself, in Config and on the wire.
func TestOptionZeroValues(t *testing.T) {
	for _, f := range []struct {
		name       string
		option     func(float64) brokertest.Option
		field      func(broker.Config) float64
		tune       func(*amqp.ConnectionTune) float64 // nil: not proposed
		def, value float64
	}{
		{"WithHeartbeat", func(v float64) brokertest.Option { return brokertest.WithHeartbeat(int(v)) },
			func(c broker.Config) float64 { return float64(c.Heartbeat) },
			func(t *amqp.ConnectionTune) float64 { return float64(t.Heartbeat) }, broker.DefaultHeartbeat, 7},
		{"WithFrameMax", func(v float64) brokertest.Option { return brokertest.WithFrameMax(int(v)) },
			func(c broker.Config) float64 { return float64(c.FrameMax) },
			func(t *amqp.ConnectionTune) float64 { return float64(t.FrameMax) }, broker.DefaultFrameMax, 8192},
		{"WithChannelMax", func(v float64) brokertest.Option { return brokertest.WithChannelMax(int(v)) },
			func(c broker.Config) float64 { return float64(c.ChannelMax) },
			func(t *amqp.ConnectionTune) float64 { return float64(t.ChannelMax) }, broker.DefaultChannelMax, 9},
		{"WithHandshakeTimeout", func(v float64) brokertest.Option { return brokertest.WithHandshakeTimeout(time.Duration(v)) },
			func(c broker.Config) float64 { return float64(c.HandshakeTimeout) },
			nil, float64(broker.DefaultHandshakeTimeout), float64(300 * time.Millisecond)},
	} {
		for _, tc := range []struct {
			name      string
			opts      []brokertest.Option
			cfg, wire float64
		}{
			{"unset", nil, f.def, f.def},
			{"0", []brokertest.Option{f.option(0)}, broker.None, 0},
			{"explicit", []brokertest.Option{f.option(f.value)}, f.value, f.value},
		} {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				b := brokertest.Run(t, tc.opts...)
				if got := f.field(b.Server().Config()); got != tc.cfg {
					t.Fatalf("Config gets %v, want %v", got, tc.cfg)
				}
				if f.tune == nil {
					return
				}
				if got := f.tune(brokertest.DialRaw(t, b.Addr()).Handshake("")); got != tc.wire {
					t.Fatalf("connection.tune proposes %v, want %v", got, tc.wire)
				}
			})
		}
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
