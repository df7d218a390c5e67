package main

import (
	"net"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	c := commonFlags{
		targets:  []string{"rabbitmq=amqp://guest:guest@127.0.0.1:5802/", "amqp://u:p@localhost:5673/vh?heartbeat=5"},
		pids:     []string{"rabbitmq=42"},
		restarts: []string{"target2=bash x.sh restart a=b"},
		runs:     3,
	}
	ts, err := c.parseTargets()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Label != "rabbitmq" || ts[0].PID != 42 || ts[1].Label != "target2" {
		t.Fatalf("targets %+v %+v", ts[0], ts[1])
	}
	if ep := ts[0].EP; ep.Addr != "127.0.0.1:5802" || ep.User != "guest" || ep.Vhost != "/" || !ep.Loopback {
		t.Fatalf("endpoint %+v", ep)
	}
	if ep := ts[1].EP; ep.Addr != "127.0.0.1:5673" || ep.Vhost != "vh" || !ep.Loopback {
		t.Fatalf("endpoint %+v", ep)
	}
	if ts[1].Restart != "bash x.sh restart a=b" {
		t.Fatalf("restart %q", ts[1].Restart)
	}
	for _, bad := range []commonFlags{
		{runs: 1},
		{targets: []string{"a=amqp://h:1/", "a=amqp://h:2/"}, runs: 1},
		{targets: []string{"a=amqp://h:1/"}, pids: []string{"b=1"}, runs: 1},
		{targets: []string{"a=amqp://h:1/"}, pids: []string{"a=x"}, runs: 1},
		{targets: []string{"a=amqps://h:1/"}, runs: 1},
		{targets: []string{"a=amqp://h:1/"}, runs: 0},
	} {
		if _, err := bad.parseTargets(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestSingleTargetPIDWithoutLabel(t *testing.T) {
	c := commonFlags{targets: []string{"amqp://guest:guest@127.0.0.1:1/"}, pids: []string{"7"}, runs: 1}
	ts, err := c.parseTargets()
	if err != nil || ts[0].PID != 7 {
		t.Fatalf("%v %+v", err, ts)
	}
}

func TestSourceAddr(t *testing.T) {
	cases := []struct {
		i, per int
		want   string
	}{
		{0, 20000, ""}, {19999, 20000, ""}, {20000, 20000, "127.0.0.2"}, {40000, 20000, "127.0.0.3"},
		{254 * 10, 10, "127.0.0.255"}, {255 * 10, 10, "127.0.1.0"}, {5, 0, ""},
	}
	for _, c := range cases {
		got := sourceAddr(c.i, c.per)
		if (got == nil) != (c.want == "") || (got != nil && !got.Equal(net.ParseIP(c.want))) {
			t.Errorf("sourceAddr(%d, %d) = %v, want %q", c.i, c.per, got, c.want)
		}
	}
}

func TestRestartAdoptsPrintedPID(t *testing.T) {
	tg := &target{Label: "x", Restart: "echo starting; echo 12345"}
	if err := tg.restart(t.Context()); err != nil || tg.PID != 12345 {
		t.Fatalf("restart: %v, pid %d", err, tg.PID)
	}
	tg.Restart = "echo not-a-pid"
	if err := tg.restart(t.Context()); err == nil || !strings.Contains(err.Error(), "not a pid") {
		t.Fatalf("restart with bad output: %v", err)
	}
	tg.Restart = "exit 3"
	if err := tg.restart(t.Context()); err == nil {
		t.Fatal("failing restart: no error")
	}
}
