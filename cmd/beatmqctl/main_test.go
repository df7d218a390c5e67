package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// result is one beatmqctl run.
type result struct {
	code           int
	stdout, stderr string
}

// ctl runs beatmqctl with args and env (nil: empty environment).
func ctl(env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(args, func(k string) string { return env[k] }, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// broker starts the management API over a fake broker and returns the
// environment that points beatmqctl at it.
func broker(t *testing.T) (*mgmttest.Broker, map[string]string) {
	t.Helper()
	b := mgmttest.New()
	b.SetOverview(mgmt.Overview{
		ProductVersion: "9.9.9", Node: "beatmq@test", StartedAt: time.Now().Add(-90 * time.Second),
		Listeners: []mgmt.Listener{{Protocol: "amqp", IPAddress: "127.0.0.1", Port: 5672}, {Protocol: "http", IPAddress: "127.0.0.1", Port: 15672}},
	})
	srv := httptest.NewServer(mgmt.NewHandler(b, nil))
	t.Cleanup(srv.Close)
	return b, map[string]string{"BEATMQ_MGMT_URL": srv.URL}
}

// wantCode fails the test unless r exited with code.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

// TestMemoryAlarmAsTheSuiteDoes runs what amqp091-go's
// TestConnection_Close_WhenMemoryAlarmIsActive runs through
// RABBITMQ_RABBITMQCTL_PATH: exactly these two invocations, success being
// exit status 0.
func TestMemoryAlarmAsTheSuiteDoes(t *testing.T) {
	b, env := broker(t)
	b.SetUsedMemory(50 << 20)

	wantCode(t, ctl(env, "set_vm_memory_high_watermark", "0.0001"), 0)
	if m := b.Memory(); m.HighWatermark != 0.0001 || !m.Alarm {
		t.Fatalf("after 0.0001: %+v", m)
	}
	r := ctl(env, "set_vm_memory_high_watermark", "0.4")
	wantCode(t, r, 0)
	if m := b.Memory(); m.HighWatermark != 0.4 || m.Alarm {
		t.Fatalf("after 0.4: %+v", m)
	}
	if r.stdout != "Setting memory threshold to 0.4 ...\n" || r.stderr != "" {
		t.Fatalf("output %q, stderr %q", r.stdout, r.stderr)
	}
	if r := ctl(env, "-q", "set_vm_memory_high_watermark", "0.5"); r.code != 0 || r.stdout != "" {
		t.Fatalf("-q: %+v", r)
	}
}

// set_disk_free_limit takes rabbitmqctl's arguments and sets the limit.
func TestSetDiskFreeLimit(t *testing.T) {
	b, env := broker(t)
	r := ctl(env, "set_disk_free_limit", "20000000000")
	wantCode(t, r, 0)
	if d := b.Disk(); d.Limit != 20e9 || !d.Alarm {
		t.Fatalf("after 20000000000: %+v", d)
	}
	if r.stdout != "Setting disk free limit on beatmq@test to 20000000000 bytes ...\n" {
		t.Fatalf("output %q", r.stdout)
	}
	wantCode(t, ctl(env, "set_disk_free_limit", "50000000"), 0)
	if d := b.Disk(); d.Limit != 50e6 || d.Alarm {
		t.Fatalf("after 50000000: %+v", d)
	}
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"set_disk_free_limit"}, exitUsage},
		{[]string{"set_disk_free_limit", "mem_relative"}, exitUsage},
		{[]string{"set_disk_free_limit", "1", "2"}, exitUsage},
		{[]string{"set_disk_free_limit", "mem_relative", "1", "2"}, exitUsage},
		{[]string{"set_disk_free_limit", "1.5GB"}, exitDataErr},
		{[]string{"set_disk_free_limit", "{mem_relative,1}"}, exitDataErr},
		{[]string{"set_disk_free_limit", "mem_relative", "--", "-1"}, exitDataErr},
		{[]string{"set_disk_free_limit", "mem_relative", "x"}, exitDataErr},
	} {
		wantCode(t, ctl(env, tt.args...), tt.code)
	}
	// The fake takes whole bytes only: the broker's refusal is reported.
	if r := ctl(env, "set_disk_free_limit", "mem_relative", "1.5"); r.code == 0 || !strings.Contains(r.stderr, "bad disk free limit") {
		t.Fatalf("refused by the broker: %+v", r)
	}
	if d := b.Disk(); d.Limit != 50e6 {
		t.Fatalf("rejected arguments changed the limit: %+v", d)
	}
}

func TestSetWatermarkErrors(t *testing.T) {
	b, env := broker(t)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"set_vm_memory_high_watermark"}, exitUsage, "exactly one argument"},
		{[]string{"set_vm_memory_high_watermark", "0.1", "0.2"}, exitUsage, "exactly one argument"},
		{[]string{"set_vm_memory_high_watermark", "absolute", "1GB"}, exitUsage, "absolute is not supported"},
		{[]string{"set_vm_memory_high_watermark", "1.1"}, exitDataErr, "The threshold should be a fraction between 0.0 and 1.0"},
		{[]string{"set_vm_memory_high_watermark", "40"}, exitDataErr, "The threshold should be a fraction between 0.0 and 1.0"},
		{[]string{"set_vm_memory_high_watermark", "NaN"}, exitDataErr, "is not a number"},
		{[]string{"set_vm_memory_high_watermark", "lots"}, exitDataErr, "is not a number"},
		{[]string{"set_vm_memory_high_watermark", "--", "-0.1"}, exitDataErr, "The threshold should be"},
	}
	for _, tt := range tests {
		r := ctl(env, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("%v: code %d stderr %q, want %d with %q", tt.args, r.code, r.stderr, tt.code, tt.msg)
		}
	}
	if m := b.Memory(); m.HighWatermark != 0.4 {
		t.Fatalf("rejected arguments changed the watermark: %+v", m)
	}

	// The broker refusing the value is a data error with its reason.
	b.FailSetWatermark(errBroker("cannot apply"))
	r := ctl(env, "set_vm_memory_high_watermark", "0.3")
	if r.code != exitDataErr || !strings.Contains(r.stderr, "cannot apply") {
		t.Fatalf("broker error: %+v", r)
	}
}

// errBroker is a fixed error.
type errBroker string

func (e errBroker) Error() string { return string(e) }

// addConns gives b two connections.
func addConns(b *mgmttest.Broker) {
	b.AddUser("alice", "pw", mgmt.TagManagement)
	b.AddConnection(mgmt.Connection{
		Name: "127.0.0.1:50002 -> 127.0.0.1:5672", User: "alice", Vhost: "/", PeerHost: "127.0.0.1", PeerPort: 50002,
		Host: "127.0.0.1", Port: 5672, Timeout: 60, State: "blocked",
		ClientProperties: map[string]any{"connection_name": "tab\there", "product": "pika"},
	})
	b.AddConnection(mgmt.Connection{
		Name: "127.0.0.1:50001 -> 127.0.0.1:5672", User: "guest", Vhost: "/", PeerHost: "127.0.0.1", PeerPort: 50001,
		Host: "127.0.0.1", Port: 5672, Timeout: 10,
		ClientProperties: map[string]any{"connection_name": "suite"},
	})
}

func TestListConnections(t *testing.T) {
	b, env := broker(t)
	addConns(b)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"list_connections"}, "Listing connections ...\n" +
			"user\tpeer_host\tpeer_port\tstate\n" +
			"guest\t127.0.0.1\t50001\trunning\n" +
			"alice\t127.0.0.1\t50002\tblocked\n"},
		{[]string{"list_connections", "name", "peer_host", "peer_port", "timeout", "-q"}, "" +
			"name\tpeer_host\tpeer_port\ttimeout\n" +
			"127.0.0.1:50001 -> 127.0.0.1:5672\t127.0.0.1\t50001\t10\n" +
			"127.0.0.1:50002 -> 127.0.0.1:5672\t127.0.0.1\t50002\t60\n"},
		{[]string{"-s", "list_connections", "user_provided_name", "client_properties"}, "" +
			"suite\t{\"connection_name\":\"suite\"}\n" +
			"tab\\there\t{\"connection_name\":\"tab\\\\there\",\"product\":\"pika\"}\n"},
		{[]string{"--no-table-headers", "-q", "list_connections", "ssl", "peer_cert_subject"}, "false\t\nfalse\t\n"},
		{[]string{"--formatter", "json", "list_connections", "name", "timeout"},
			`[{"name":"127.0.0.1:50001 -> 127.0.0.1:5672","timeout":10},{"name":"127.0.0.1:50002 -> 127.0.0.1:5672","timeout":60}]` + "\n"},
	}
	for _, tt := range tests {
		r := ctl(env, tt.args...)
		wantCode(t, r, 0)
		if r.stdout != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.args, r.stdout, tt.want)
		}
	}

	// A management user sees only its own connections.
	env["BEATMQ_USER"], env["BEATMQ_PASSWORD"] = "alice", "pw"
	r := ctl(env, "-q", "list_connections", "user")
	wantCode(t, r, 0)
	if r.stdout != "user\nalice\n" {
		t.Errorf("as alice: %q", r.stdout)
	}

	r = ctl(env, "list_connections", "pid", "name", "bogus")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "Info key(s) pid,bogus are not supported") {
		t.Errorf("unknown keys: %q", r.stderr)
	}
}

func TestCloseConnection(t *testing.T) {
	b, env := broker(t)
	addConns(b)
	r := ctl(env, "close_connection", "127.0.0.1:50001 -> 127.0.0.1:5672", "go away")
	wantCode(t, r, 0)
	want := []mgmttest.Close{{Name: "127.0.0.1:50001 -> 127.0.0.1:5672", Reason: "go away"}}
	if got := b.Closes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("closes = %+v", got)
	}
	r = ctl(env, "close_connection", "127.0.0.1:50001 -> 127.0.0.1:5672", "again")
	wantCode(t, r, exitNotFound)
	if !strings.Contains(r.stderr, `no open connection named "127.0.0.1:50001 -> 127.0.0.1:5672"`) {
		t.Errorf("stderr %q", r.stderr)
	}
	wantCode(t, ctl(env, "close_connection", "only-a-name"), exitUsage)
}

func TestListQueuesAndExchanges(t *testing.T) {
	b, env := broker(t)
	b.AddQueue(mgmt.Queue{Name: "work", Vhost: "/", MessagesReady: 2, MessagesUnacknowledged: 1, Durable: true})
	b.AddExchange(mgmt.Exchange{Name: "", Vhost: "other/vh", Type: "direct"})
	b.AddQueue(mgmt.Queue{Name: "elsewhere", Vhost: "other/vh"})

	r := ctl(env, "-t", "5", "list_queues")
	wantCode(t, r, 0)
	if r.stdout != "Timeout: 5.0 seconds ...\nListing queues for vhost / ...\nname\tmessages\nwork\t3\n" {
		t.Errorf("list_queues: %q", r.stdout)
	}
	r = ctl(env, "-q", "list_queues", "-p", "other/vh", "name", "durable", "vhost")
	wantCode(t, r, 0)
	if r.stdout != "name\tdurable\tvhost\nelsewhere\tfalse\tother/vh\n" {
		t.Errorf("list_queues -p: %q", r.stdout)
	}
	r = ctl(env, "list_queues", "-p", "nope")
	wantCode(t, r, exitNotFound)
	if !strings.Contains(r.stderr, "virtual host 'nope' does not exist") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = ctl(env, "-q", "list_exchanges")
	wantCode(t, r, 0)
	want := "name\ttype\n\tdirect\namq.direct\tdirect\namq.fanout\tfanout\namq.headers\theaders\namq.match\theaders\namq.topic\ttopic\n"
	if r.stdout != want {
		t.Errorf("list_exchanges: %q", r.stdout)
	}
}

func TestStatus(t *testing.T) {
	b, env := broker(t)
	addConns(b)
	r := ctl(env, "status")
	wantCode(t, r, 0)
	for _, s := range []string{
		"Status of node beatmq@test ...\n", "Product name: beatmq\n", "Product version: 9.9.9\n",
		"RabbitMQ compatibility version: 3.10.8\n", "\nAlarms\n\n(none)\n", "Connection count: 2\n",
		"Exchange count: 6\n", "Memory high watermark setting: 0.4 of available memory",
		"Interface: 127.0.0.1, port: 5672, protocol: amqp, purpose: AMQP 0-9-1\n",
		"Interface: 127.0.0.1, port: 15672, protocol: http, purpose: HTTP API\n",
		"\nFree Disk Space\n\nLow free disk space watermark: 0.05 gb\nFree disk space: 10.7374 gb\n",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("status lacks %q:\n%s", s, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "Uptime (seconds): 9") { // 90 s and a bit
		t.Errorf("uptime:\n%s", r.stdout)
	}
	b.SetUsedMemory(1 << 40)
	r = ctl(env, "status")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "\nAlarms\n\nMemory alarm on node beatmq@test\n\n") {
		t.Errorf("status with alarm:\n%s", r.stdout)
	}
	// Both alarms, in rabbitmqctl's order.
	b.SetDisk(mgmt.Disk{Monitored: true, Free: 1000, Limit: 50_000_000, Alarm: true})
	r = ctl(env, "status")
	if !strings.Contains(r.stdout, "\nAlarms\n\nFree disk space alarm on node beatmq@test\nMemory alarm on node beatmq@test\n\n") {
		t.Errorf("status with both alarms:\n%s", r.stdout)
	}
	r = ctl(env, "--formatter=json", "status")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, `{"node":{`) || !strings.Contains(r.stdout, `"product_name":"beatmq"`) {
		t.Errorf("json status: %s", r.stdout)
	}
	wantCode(t, ctl(env, "status", "extra"), exitUsage)
}

func TestConnectionSettings(t *testing.T) {
	b, env := broker(t)
	b.AddUser("admin", "s3cret", mgmt.TagAdministrator)

	// Environment credentials, then flags overriding them.
	env["BEATMQ_USER"], env["BEATMQ_PASSWORD"] = "admin", "wrong"
	r := ctl(env, "status")
	wantCode(t, r, exitNoPerm)
	if !strings.Contains(r.stderr, "refused user 'admin': Login failed") {
		t.Errorf("stderr %q", r.stderr)
	}
	wantCode(t, ctl(env, "--password", "s3cret", "status"), 0)
	wantCode(t, ctl(env, "--user=guest", "--password=guest", "status"), 0)

	// --mgmt-url overrides BEATMQ_MGMT_URL; nothing listening means 69.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	r = ctl(env, "--mgmt-url", dead, "--password", "s3cret", "status")
	wantCode(t, r, exitUnavailable)
	if !strings.Contains(r.stderr, "cannot reach the beatmq management API at "+dead) {
		t.Errorf("stderr %q", r.stderr)
	}
	r = ctl(map[string]string{"BEATMQ_MGMT_URL": dead}, "status")
	wantCode(t, r, exitUnavailable)

	wantCode(t, ctl(env, "--mgmt-url", "127.0.0.1:15672", "status"), exitUsage)
}

func TestTimeout(t *testing.T) {
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; ends when beatmqctl gives up
	}))
	defer hung.Close()
	r := ctl(map[string]string{"BEATMQ_MGMT_URL": hung.URL}, "-t", "0.2", "status")
	wantCode(t, r, exitTempFail)
	if !strings.Contains(r.stderr, "did not answer within 200ms") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestNotBeatmq(t *testing.T) {
	// A RabbitMQ management API has no watermark route.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"Object Not Found","reason":"Not Found"}`))
	}))
	defer other.Close()
	r := ctl(map[string]string{"BEATMQ_MGMT_URL": other.URL}, "set_vm_memory_high_watermark", "0.4")
	wantCode(t, r, exitNotFound)
	if !strings.Contains(r.stderr, "is it beatmq?") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestUsage(t *testing.T) {
	r := ctl(nil)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stdout, "Usage: beatmqctl") {
		t.Errorf("no usage: %q", r.stdout)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h", "status"}} {
		r := ctl(nil, args...)
		wantCode(t, r, 0)
		if !strings.Contains(r.stdout, "set_vm_memory_high_watermark <fraction>") {
			t.Errorf("%v: %q", args, r.stdout)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"--bogus", "status"}, {"--formatter", "xml", "status"}, {"-t", "-1s", "status"}} {
		r := ctl(nil, args...)
		wantCode(t, r, exitUsage)
		if !strings.HasPrefix(r.stderr, "Error: ") {
			t.Errorf("%v: stderr %q", args, r.stderr)
		}
	}
}
