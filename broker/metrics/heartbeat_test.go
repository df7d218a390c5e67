package metrics_test

import (
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// hbUnit is the length of one protocol second in the heartbeat test: T = 1
// lasts hbUnit, so a silent client is warned about after 1.5 hbUnit and
// closed between 2 and 3.
const hbUnit = 400 * time.Millisecond

// beatmq's heartbeat metrics follow a client that beats, then falls
// silent: frames counted both ways, its silence in units of T growing
// past the warning, the warning and the close counted, and a closed
// connection no longer watched.
func TestHeartbeatMetrics(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithPrometheus(), brokertest.WithHeartbeatUnit(hbUnit))
	agg, per := b.MetricsURL()+"/metrics", b.MetricsURL()+"/metrics/per-object"
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("beating", 1)
	info, ok := b.Conn("beating")
	if !ok {
		t.Fatal("no connection")
	}
	for range 4 {
		r.SendHeartbeat()
		time.Sleep(hbUnit / 4)
	}
	s := samples(scrape(t, agg))
	if s["beatmq_heartbeats_received_total"] != 4 || s["beatmq_heartbeats_sent_total"] < 1 {
		t.Fatalf("frames: received %v (want 4), sent %v (want some)",
			s["beatmq_heartbeats_received_total"], s["beatmq_heartbeats_sent_total"])
	}
	if s[`beatmq_heartbeat_inbound_silence_connections{le="+Inf"}`] != 1 || s[`beatmq_heartbeat_inbound_silence_connections{le="1"}`] != 1 {
		t.Fatalf("a beating client: %v", s)
	}

	// Silent from now on: watch its ratio pass 1.5 and the warning be
	// counted before the close.
	ratio := `beatmq_heartbeat_inbound_silence_ratio{channel="` + info.ID + `"}`
	var warned bool
	for deadline := time.Now().Add(10 * hbUnit); !warned; time.Sleep(hbUnit / 40) {
		s = samples(scrape(t, per))
		if _, open := s[ratio]; !open || time.Now().After(deadline) {
			t.Fatalf("connection gone or deadline passed before its warning was counted: %v", s)
		}
		warned = s["beatmq_heartbeat_late_warnings_total"] == 1
	}
	if s[ratio] < 1.5 || s["beatmq_heartbeat_inbound_silence_max_ratio"] != s[ratio] ||
		s[`beatmq_heartbeat_inbound_silence_connections{le="1"}`] != 0 || s[`beatmq_heartbeat_inbound_silence_connections{le="3"}`] != 1 {
		t.Fatalf("a warned client: %v", s)
	}
	if _, ok := b.WaitClosed(r.Conn.LocalAddr(), 10*hbUnit); !ok {
		t.Fatal("not closed")
	}
	s = samples(scrape(t, agg))
	if s["beatmq_heartbeat_missed_closes_total"] != 1 || s[`beatmq_heartbeat_inbound_silence_connections{le="+Inf"}`] != 0 ||
		s["beatmq_heartbeat_inbound_silence_max_ratio"] != 0 || s["beatmq_heartbeats_received_total"] != 4 {
		t.Fatalf("after the close: %v", s)
	}
}
