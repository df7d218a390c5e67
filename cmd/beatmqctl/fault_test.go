package main

import (
	"strings"
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker/mgmt"
)

// beatmqctl fault NAME KIND [--for D] [--factor K] [--latency D] and
// beatmqctl fault NAME clear, against the management API over a fake
// broker; and the beatmq_* columns of list_connections.
func TestFault(t *testing.T) {
	b, env := broker(t)
	addConns(b)
	const name = "127.0.0.1:50001 -> 127.0.0.1:5672"

	r := ctl(env, "fault", name, "slow-heartbeats", "--for", "90", "--factor", "3")
	wantCode(t, r, 0)
	if r.stdout != "Injecting fault slow-heartbeats into connection "+name+" ...\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	if got, want := b.Faults()[name], (mgmt.Fault{Kind: "slow-heartbeats", For: 90 * time.Second, Factor: 3}); got != want {
		t.Fatalf("fault %+v, want %+v", got, want)
	}
	wantCode(t, ctl(env, "-q", "fault", name, "latency", "--latency", "250ms", "--for", "1m"), 0)
	if got, want := b.Faults()[name], (mgmt.Fault{Kind: "latency", For: time.Minute, Latency: 250 * time.Millisecond}); got != want {
		t.Fatalf("fault %+v, want %+v", got, want)
	}
	r = ctl(env, "-q", "list_connections", "name", "beatmq_fault", "beatmq_heartbeat_late_warnings")
	wantCode(t, r, 0)
	if want := "name\tbeatmq_fault\tbeatmq_heartbeat_late_warnings\n" +
		name + "\tlatency\t0\n" +
		"127.0.0.1:50002 -> 127.0.0.1:5672\t\t0\n"; r.stdout != want {
		t.Errorf("list_connections:\n got %q\nwant %q", r.stdout, want)
	}
	wantCode(t, ctl(env, "fault", name, "clear"), 0)
	if len(b.Faults()) != 0 {
		t.Fatalf("faults after clear: %v", b.Faults())
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fault", name, "jitter"}, exitDataErr, "valid kinds are mute-heartbeats, slow-heartbeats, freeze-out"},
		{[]string{"fault", "nobody", "reset"}, exitNotFound, `no connection named "nobody"`},
		{[]string{"fault", "nobody", "clear"}, exitNotFound, `no connection named "nobody"`},
		{[]string{"fault", name}, exitUsage, "two arguments"},
		{[]string{"fault", name, "reset", "--for", "soon"}, exitUsage, `--for "soon"`},
		{[]string{"fault", name, "slow-heartbeats", "--factor", "x"}, exitUsage, `--factor "x"`},
		{[]string{"fault", name, "clear", "--for", "1s"}, exitUsage, "takes no --for"},
		{[]string{"list_connections", "--for", "1s"}, exitUsage, "--for applies to the fault command only"},
		{[]string{"status", "--latency", "1s"}, exitUsage, "--latency applies to the fault command only"},
	} {
		r := ctl(env, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	if len(b.Faults()) != 0 {
		t.Fatalf("refused commands changed something: %v", b.Faults())
	}
}
