package broker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// publishHeader sends basic.publish and a content header on channel 1: the
// frame that makes a reader block while an alarm is on.
func publishHeader(r *brokertest.RawConn) {
	r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "q"})
	r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 5, []byte{0, 0}))
}

// quiet checks that r gets nothing but heartbeats for d.
func quiet(t *testing.T, r *brokertest.RawConn, d time.Duration) {
	t.Helper()
	kind, _, got := r.WaitClosed(d)
	if kind != brokertest.NotClosed {
		t.Fatalf("connection closed (%v)", kind)
	}
	for _, f := range got {
		if f.Type != frames.TypeHeartbeat {
			t.Fatalf("frame type %d on channel %d, want nothing", f.Type, f.Channel)
		}
	}
}

// The memory and disk alarms are independent sources, as in RabbitMQ: a
// connection is blocked while any is on, connection.blocked names the alarms
// in effect when it blocks ("low on disk & memory" as RabbitMQ 3.10.8 sent
// it), is sent once per blocking, and connection.unblocked comes only when
// the last alarm clears.
func TestIndependentAlarms(t *testing.T) {
	b := start(t, unit)
	srv := b.Server()
	dial := func(name string) *brokertest.RawConn {
		r := brokertest.DialRaw(t, b.Addr())
		r.Connect(name, 0)
		openChannel(t, r, 1)
		return r
	}
	diskOnly, both, memOnly := dial("disk-only"), dial("both"), dial("memory-only")

	b.SetAlarm(broker.AlarmDisk, true)
	b.SetAlarm(broker.AlarmDisk, true) // again: nothing new
	if got := srv.Alarms(); !slices.Equal(got, []string{broker.AlarmDisk}) || !srv.Blocked() {
		t.Fatalf("alarms %v, blocked %v", got, srv.Blocked())
	}
	publishHeader(diskOnly)
	if bl := brokertest.Expect[*amqp.ConnectionBlocked](diskOnly, time.Second); bl.Reason != "low on disk" {
		t.Fatalf("disk alarm: reason %q", bl.Reason)
	}

	b.SetAlarm(broker.AlarmMemory, true)
	if got := srv.Alarms(); !slices.Equal(got, []string{broker.AlarmDisk, broker.AlarmMemory}) {
		t.Fatalf("alarms %v", got)
	}
	publishHeader(both)
	if bl := brokertest.Expect[*amqp.ConnectionBlocked](both, time.Second); bl.Reason != "low on disk & memory" {
		t.Fatalf("both alarms: reason %q", bl.Reason)
	}

	// The disk alarm clears; memory is still on: nobody is unblocked, and a
	// new publisher is blocked for memory alone.
	b.SetAlarm(broker.AlarmDisk, false)
	if got := srv.Alarms(); !slices.Equal(got, []string{broker.AlarmMemory}) || !srv.Blocked() {
		t.Fatalf("alarms %v, blocked %v", got, srv.Blocked())
	}
	publishHeader(memOnly)
	if bl := brokertest.Expect[*amqp.ConnectionBlocked](memOnly, time.Second); bl.Reason != "low on memory" {
		t.Fatalf("memory alarm: reason %q", bl.Reason)
	}
	quiet(t, diskOnly, 3*unit)
	quiet(t, both, 0)
	for _, name := range []string{"disk-only", "both", "memory-only"} {
		if info, _ := b.Conn(name); info.State != broker.StateBlocked {
			t.Fatalf("%s: state %v with the memory alarm on", name, info.State)
		}
	}

	b.SetBlocked(false) // the old switch clears the memory alarm
	for _, r := range []*brokertest.RawConn{diskOnly, both, memOnly} {
		brokertest.Expect[*amqp.ConnectionUnblocked](r, time.Second)
	}
	if srv.Blocked() || srv.Alarms() != nil {
		t.Fatalf("alarms %v after both cleared", srv.Alarms())
	}

	// RabbitMQ's lines (rabbit_alarm), the node printed as ~p prints an atom.
	node := srv.ClusterName()
	if strings.ContainsAny(node, "-.") {
		node = "'" + node + "'"
	}
	logs := b.Logs().String()
	for _, want := range []string{
		"[warning] <0.0.0> disk resource limit alarm set on node " + node + ".\n",
		"[warning] <0.0.0> \n",
		"[warning] <0.0.0> *** Publishers will be blocked until this alarm clears ***\n",
		"[warning] <0.0.0> memory resource limit alarm set on node " + node + ".\n",
		"[warning] <0.0.0> disk resource limit alarm cleared on node " + node + "\n",
		"[warning] <0.0.0> disk resource limit alarm cleared across the cluster\n",
		"[warning] <0.0.0> memory resource limit alarm cleared on node " + node + "\n",
		"[warning] <0.0.0> memory resource limit alarm cleared across the cluster\n",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if n := len(b.Logs().Lines("disk resource limit alarm set")); n != 1 {
		t.Errorf("disk alarm set logged %d times, want once", n)
	}

	b.SetAlarm("fd", true) // not a resource that blocks publishers
	if srv.Blocked() || len(b.Logs().Lines("alarm 'fd' ignored: unknown resource")) != 1 {
		t.Fatalf("unknown resource: blocked %v", srv.Blocked())
	}
}
