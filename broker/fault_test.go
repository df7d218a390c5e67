package broker_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/frames"
)

// Fault injection and telemetry over real sockets, where users meet them.
// Exact timings are checked under synctest (synctest_fault_test.go); here
// only outcomes.

// Freeze-in on a real socket: the broker reads nothing, but a client that
// keeps talking is neither warned about nor closed (its octets wait in the
// kernel, which the receiver counts as activity); when the freeze ends, what
// waited is read, and a client that then falls silent is closed for missed
// heartbeats as usual.
func TestFaultFreezeInTalkingClient(t *testing.T) {
	b := start(t, hbUnit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("talker", 1)
	id := connID(t, b, r)
	beat := brokertest.FrameBytes(frames.TypeHeartbeat, 0, nil)
	if err := b.Fault("talker", broker.Fault{Kind: broker.FaultFreezeIn, For: 5 * hbUnit}); err != nil {
		t.Fatal(err)
	}
	for range 40 { // 8 T of talking, 5 of them frozen
		if _, err := r.Conn.Write(beat); err != nil {
			t.Fatal(err)
		}
		time.Sleep(hbUnit / 5)
	}
	info, _ := b.Conn(id)
	if info.State != broker.StateRunning || info.Telemetry.LateWarnings != 0 {
		t.Fatalf("talking client under freeze-in: state %v, %d late warnings", info.State, info.Telemetry.LateWarnings)
	}
	if _, ok := b.Logs().WaitFor("freeze-in, expired after", time.Second); !ok {
		t.Fatalf("fault never expired:\n%s", b.Logs())
	}
	if info.Telemetry.HeartbeatsReceived == 0 || info.Telemetry.HeartbeatsSent == 0 {
		t.Fatalf("telemetry %+v", info.Telemetry)
	}
	// Silent from now on: closed 2T–3T later, warned about first.
	info = ended(t, b, id)
	if info.Reason != broker.ReasonMissedHeartbeats || info.Telemetry.LateWarnings < 1 {
		t.Fatalf("silent client: reason %v, %d late warnings", info.Reason, info.Telemetry.LateWarnings)
	}
	if tot := b.Server().HeartbeatTotals(); tot.MissedHeartbeatCloses != 1 || tot.LateWarnings != info.Telemetry.LateWarnings {
		t.Fatalf("totals %+v", tot)
	}
}

// The JSON log carries the late warning and the fault records with their
// fields.
func TestFaultAndLateWarningJSON(t *testing.T) {
	logs := &brokertest.LogBuffer{}
	b := brokertest.Run(t, brokertest.WithHeartbeatUnit(hbUnit),
		brokertest.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("quiet", 1)
	id := connID(t, b, r)
	if err := b.Fault("quiet", broker.Fault{Kind: broker.FaultLatency, Latency: time.Millisecond, For: hbUnit / 4}); err != nil {
		t.Fatal(err)
	}
	ended(t, b, id)
	find := func(substr string) map[string]any {
		t.Helper()
		line, ok := logs.WaitFor(substr, time.Second)
		if !ok {
			t.Fatalf("no %q in\n%s", substr, logs)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if m["conn"] != id {
			t.Fatalf("conn %v in %s", m["conn"], line)
		}
		return m
	}
	late := find("late heartbeats from client")
	if late["level"] != "WARN" || late["timeout_s"] != 1.0 || late["silence_s"].(float64) < 1.5*hbUnit.Seconds() || late["name"] != "quiet" {
		t.Fatalf("late warning %v", late)
	}
	set := find("fault injected")
	if set["fault"] != "latency" || set["fault_latency_s"] != 0.001 || set["fault_for_s"] != (hbUnit/4).Seconds() {
		t.Fatalf("fault set %v", set)
	}
	if cleared := find("fault cleared"); cleared["fault_end"] != "expired" {
		t.Fatalf("fault cleared %v", cleared)
	}
	// Each field once: encoding/json keeps the last of duplicate keys, a
	// reader of the raw line would see both.
	line, _ := logs.WaitFor("closing AMQP connection", time.Second)
	if n := strings.Count(line, `"name":`); n != 1 || !strings.Contains(line, `"reason":"missed_heartbeats"`) {
		t.Fatalf("close record with %d name fields: %s", n, line)
	}
}

// The management API end to end: telemetry fields of a live amqp091-go
// connection, a refused fault that changes nothing, a reset through PUT.
func TestFaultThroughManagementAPI(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	conn, err := amqp091.DialConfig(b.URL(), amqp091.Config{
		Heartbeat:  time.Second,
		Properties: amqp091.Table{"connection_name": "watched"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))

	var row map[string]any
	for range 100 { // the client beats every 0.5 s: two beats within about a second
		var rows []map[string]any
		if err := json.NewDecoder(mgmtDo(t, http.MethodGet, hs.URL+"/api/connections", nil).Body).Decode(&rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0]["beatmq_heartbeat_received"].(float64) >= 2 {
			row = rows[0]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if row == nil {
		t.Fatal("no heartbeats from amqp091-go counted")
	}
	if row["beatmq_heartbeat_cadence_median_s"].(float64) <= 0 || row["beatmq_heartbeat_silence_in_max_t"] == nil ||
		row["beatmq_fault"] != nil || row["timeout"] != 1.0 {
		t.Fatalf("connection row %v", row)
	}
	name := row["name"].(string)

	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, hs.URL+mgmt.FaultPath(name), strings.NewReader(body))
		req.SetBasicAuth("guest", "guest")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	if code, body := put(`{"kind":"jitter"}`); code != http.StatusBadRequest || !strings.Contains(body, "half-open") {
		t.Fatalf("unknown kind: %d %s", code, body)
	}
	if info, _ := b.Conn("watched"); info.Fault.Kind != broker.FaultNone || info.State != broker.StateRunning {
		t.Fatalf("a refused fault changed the connection: %+v", info.Fault)
	}
	if code, body := put(`{"kind":"reset"}`); code != http.StatusNoContent {
		t.Fatalf("reset: %d %s", code, body)
	}
	select {
	case err := <-closed:
		if err == nil || !strings.Contains(err.Reason, "connection reset") {
			t.Fatalf("client saw %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client never noticed the reset")
	}
	info, _ := b.WaitConn(3*time.Second, func(c broker.ConnInfo) bool { return c.ClientName == "watched" && c.State == broker.StateTerminated })
	if info.Reason != broker.ReasonFaultReset {
		t.Fatalf("reason %v", info.Reason)
	}
}
