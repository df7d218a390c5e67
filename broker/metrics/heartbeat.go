package metrics

import (
	"strconv"

	"github.com/beatmq/beatmq/broker"
)

// silenceBounds are the upper bounds, in units of the heartbeat timeout T,
// of beatmq_heartbeat_inbound_silence_connections: a client beating every
// T/2 stays at or below 0.5; --heartbeat-warn's default warns at 1.5; the
// receiver closes between 2 and 3.
var silenceBounds = []float64{0.25, 0.5, 1, 1.5, 2, 2.5, 3}

// watched reports whether the broker's heartbeat receiver watches c's
// silence now: a heartbeat was negotiated, the connection is past tune-ok
// and neither blocked (its receiver is paused, its socket not read) nor
// closing (missed heartbeats no longer count).
func watched(c *broker.ConnStats) bool {
	return c.Interval > 0 && (c.State == broker.StateOpening || c.State == broker.StateRunning)
}

// writeHeartbeat writes beatmq's heartbeat families (RabbitMQ has none):
// the totals, and how long each watched client has now been silent, in
// units of its T. The silence figures are read at the scrape: a gauge per
// bound, cumulative (histogram_quantile can read them, rate cannot), the
// largest, and on /metrics/per-object each connection's.
func writeHeartbeat(o *out, v *view, sn *snapshot) {
	st := &sn.stats
	for _, f := range []struct {
		name, help string
		v          uint64
	}{
		{"beatmq_heartbeat_missed_closes_total", "Connections closed for missed heartbeats", st.MissedHeartbeatCloses},
		{"beatmq_heartbeat_late_warnings_total", "Late-heartbeat warnings logged (a client silent for --heartbeat-warn times its timeout)", st.LateHeartbeatWarnings},
		{"beatmq_heartbeats_sent_total", "Heartbeat frames sent to clients", st.HeartbeatsSent},
		{"beatmq_heartbeats_received_total", "Heartbeat frames received from clients", st.HeartbeatsReceived},
	} {
		o.named(f.name, f.help, counter).add(float64(f.v))
	}

	counts := make([]int, len(silenceBounds)+1) // the last: +Inf
	var worst float64
	var each family
	if v.perObject {
		each = o.named("beatmq_heartbeat_inbound_silence_ratio", "Time since the client's last octet, in units of its heartbeat timeout T", gauge, connLabel)
	}
	for i := range st.Connections {
		c := &st.Connections[i]
		if !watched(c) {
			continue
		}
		r := float64(c.LastReceivedAge) / float64(c.Interval)
		worst = max(worst, r)
		for j, b := range silenceBounds {
			if r <= b {
				counts[j]++
			}
		}
		counts[len(silenceBounds)]++
		if v.perObject {
			each.add(r, c.ID)
		}
	}
	f := o.named("beatmq_heartbeat_inbound_silence_connections",
		"Connections whose heartbeat is watched, by time since the client's last octet in units of its timeout T: at most le (cumulative)", gauge, "le")
	for j, b := range silenceBounds {
		f.add(float64(counts[j]), strconv.FormatFloat(b, 'g', -1, 64))
	}
	f.add(float64(counts[len(silenceBounds)]), "+Inf")
	o.named("beatmq_heartbeat_inbound_silence_max_ratio", "Longest time since a watched client's last octet, in units of its heartbeat timeout T (0: none watched)", gauge).add(worst)
}
