package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"}, {"--heartbeat", "x"}, {"--heartbeat", "70000"}, {"--frame-max", "100"},
		{"--channel-max", "-1"}, {"--heartbeat", "-1"}, {"--frame-max", "-1"}, {"--handshake-timeout", "-1s"},
		{"--vm-memory-high-watermark", "-0.1"}, {"--users", "guest"}, {"--log-format", "xml"}, {"--log-level", "loud"},
		{"--addr", "nope"}, {"extra"}, {"--vm-memory-high-watermark", "1.5"},
		{"--disk-free-limit", "1.5GB"}, {"--disk-free-limit", "lots"}, {"--disk-free-limit", "{mem_relative,-1}"},
		{"--heartbeat-warn", "3"}, {"--heartbeat-warn", "-1"}, {"--prometheus-addr", "nope"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if !strings.HasPrefix(errb.String(), "beatmq: ") {
			t.Errorf("%v: stderr %q", args, errb.String())
		}
	}
}

// The flags follow the rule brokertest's options follow: a flag left out is
// RabbitMQ's default, 0 is what RabbitMQ's configuration means by 0 (none,
// broker.None in Config), anything else is itself, in Config and on the wire.
func TestFlagZeroValues(t *testing.T) {
	for _, f := range []struct {
		flag, explicit string
		field          func(broker.Config) float64
		tune           func(*amqp.ConnectionTune) float64 // nil: not proposed
		def, value     float64
	}{
		{"heartbeat", "7", func(c broker.Config) float64 { return float64(c.Heartbeat) },
			func(t *amqp.ConnectionTune) float64 { return float64(t.Heartbeat) }, broker.DefaultHeartbeat, 7},
		{"frame-max", "8192", func(c broker.Config) float64 { return float64(c.FrameMax) },
			func(t *amqp.ConnectionTune) float64 { return float64(t.FrameMax) }, broker.DefaultFrameMax, 8192},
		{"channel-max", "9", func(c broker.Config) float64 { return float64(c.ChannelMax) },
			func(t *amqp.ConnectionTune) float64 { return float64(t.ChannelMax) }, broker.DefaultChannelMax, 9},
		{"handshake-timeout", "300ms", func(c broker.Config) float64 { return float64(c.HandshakeTimeout) },
			nil, float64(broker.DefaultHandshakeTimeout), float64(300 * time.Millisecond)},
		{"heartbeat-warn", "2", func(c broker.Config) float64 { return c.HeartbeatWarn },
			nil, broker.DefaultHeartbeatWarn, 2},
	} {
		for _, tc := range []struct {
			name      string
			args      []string
			cfg, wire float64
		}{
			{"unset", nil, f.def, f.def},
			{"0", []string{"--" + f.flag, "0"}, broker.None, 0},
			{"explicit", []string{"--" + f.flag, f.explicit}, f.value, f.value},
		} {
			t.Run(f.flag+"/"+tc.name, func(t *testing.T) {
				var o options
				if err := newFlagSet(&o, io.Discard).Parse(tc.args); err != nil {
					t.Fatal(err)
				}
				cfg, err := o.config(nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := f.field(cfg); got != tc.cfg {
					t.Fatalf("Config gets %v, want %v", got, tc.cfg)
				}
				if f.tune == nil {
					return
				}
				cfg.DataDir = t.TempDir() // not the flag default in the working directory
				b := brokertest.Run(t, brokertest.WithConfig(cfg))
				if got := f.tune(brokertest.DialRaw(t, b.Addr()).Handshake("")); got != tc.wire {
					t.Fatalf("connection.tune proposes %v, want %v", got, tc.wire)
				}
			})
		}
	}
}

// --tcp-keepalive and --tcp-nodelay default to RabbitMQ's tcp_listen_options
// (keepalive false, nodelay true) and map onto Config.
func TestTCPFlags(t *testing.T) {
	for _, tc := range []struct {
		args                   []string
		keepalive, disableNoDl bool
	}{
		{nil, false, false},
		{[]string{"--tcp-keepalive"}, true, false},
		{[]string{"--tcp-nodelay=false"}, false, true},
		{[]string{"--tcp-keepalive=true", "--tcp-nodelay=true"}, true, false},
	} {
		var o options
		if err := newFlagSet(&o, io.Discard).Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := o.config(nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TCPKeepAlive != tc.keepalive || cfg.DisableTCPNoDelay != tc.disableNoDl {
			t.Errorf("%v: TCPKeepAlive %v DisableTCPNoDelay %v, want %v %v", tc.args, cfg.TCPKeepAlive, cfg.DisableTCPNoDelay, tc.keepalive, tc.disableNoDl)
		}
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "beatmq 0.") {
		t.Fatalf("exit %d, %q", code, out.String())
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--addr", l.Addr().String(), "--mgmt-addr", "", "--prometheus-addr", "", "--log-file", filepath.Join(t.TempDir(), "log"), "--data-dir", t.TempDir()}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "address already in use") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// The broker serves amqp091-go, logs in RabbitMQ's layout and stops cleanly
// when its context ends (the signal in main).
func TestRunServesAndStops(t *testing.T) {
	addr := freeAddr(t)
	logFile := filepath.Join(t.TempDir(), "beatmq.log")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	var code int
	var wg sync.WaitGroup
	wg.Go(func() {
		code = run(ctx, []string{"--addr", addr, "--mgmt-addr", "", "--prometheus-addr", "", "--heartbeat", "5", "--log-file", logFile, "--data-dir", t.TempDir()}, &out, &errb)
	})
	var c *amqp091.Connection
	var err error
	for range 200 {
		if c, err = amqp091.Dial("amqp://guest:guest@" + addr + "/"); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatal(err)
	}
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	cancel()
	if e := <-closed; e == nil || e.Code != 320 {
		t.Fatalf("close %v", e)
	}
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	log, _ := os.ReadFile(logFile)
	for _, want := range []string{"[info] <0.0.0> started TCP listener on " + addr, "accepting AMQP connection", "broker shutdown", "beatmq stopped"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if !strings.Contains(out.String(), "listening on "+addr) {
		t.Errorf("stdout %q", out.String())
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
