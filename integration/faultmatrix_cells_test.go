//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// matrixTraffic is how often a watching client publishes a message to itself
// in the cells with traffic: T/4, so that frames other than heartbeats reach
// it several times per heartbeat interval.
const matrixTraffic = matrixT / 4

// matrixCell is one fault of the matrix, as applied to every client.
type matrixCell struct {
	ID    string // short, used in connection and subtest names
	Title string // what the tables call it
	// Probe is the observation for client.
	Probe func(client string) probe
	// Factors, for slow-heartbeats only: the factors k tried in this order, each
	// on a fresh connection, until the client notices.
	Factors []float64
	// Check asserts the facts that must hold whatever the client (nil: the
	// cell only records).
	Check func(t *testing.T, r *probeResult)
}

// detectMax is the latest client may notice a silent broker after the last
// octet it received (scenario 4a's bound, slack included).
func detectMax(client string) time.Duration { return clientDetectMax(client, matrixT) }

// matrixCells are the cells of the full matrix, in table order.
var matrixCells = []matrixCell{
	{
		ID: "mute-traffic", Title: "mute-heartbeats, messages every T/4",
		Probe: func(client string) probe {
			return probe{Fault: faultSpec{Kind: "mute-heartbeats"}, Every: matrixTraffic,
				Window: max(6*matrixT, detectMax(client)+matrixT)}
		},
	},
	{
		ID: "mute-idle", Title: "mute-heartbeats, idle",
		Probe: func(client string) probe {
			return probe{Fault: faultSpec{Kind: "mute-heartbeats"}, Window: detectMax(client) + matrixT}
		},
	},
	{
		ID: "slow", Title: "slow-heartbeats (every k·T/2), idle",
		Factors: []float64{2, 3, 4, 5, 6, 8, 10, 12, 16},
	},
	briefFreezeOut,
	{
		ID: "freeze-out", Title: "freeze-out until cleared, messages every T/4",
		Probe: func(client string) probe {
			return probe{Fault: faultSpec{Kind: "freeze-out"}, Every: matrixTraffic,
				Window: detectMax(client) + 3*matrixT + 2*time.Second}
		},
	},
	{
		ID: "freeze-in", Title: "freeze-in for 3T, messages every T/4",
		Probe: func(client string) probe {
			return probe{Fault: faultSpec{Kind: "freeze-in", For: 3 * matrixT}, Every: matrixTraffic, Window: 5 * matrixT}
		},
	},
	halfOpen,
	{
		ID: "latency", Title: "latency T for 3T, messages every T/4",
		Probe: func(client string) probe {
			return probe{Fault: faultSpec{Kind: "latency", Latency: matrixT, For: 3 * matrixT}, Every: matrixTraffic, Window: 5 * matrixT}
		},
	},
	reset,
}

// ciCells are the cells `make integration` runs for every client.
var ciCells = []matrixCell{halfOpen, reset, briefFreezeOut}

// slowProbe is the slow-heartbeats observation for factor k: idle, watched
// for two slowed periods or the client's own bound, whichever is longer.
func slowProbe(client string, k float64) probe {
	period := time.Duration(k * float64(matrixT/2))
	return probe{Fault: faultSpec{Kind: "slow-heartbeats", Factor: k}, Window: max(2*period, detectMax(client)) + 2*time.Second}
}

var halfOpen = matrixCell{
	ID: "half-open", Title: "half-open, messages every T/4",
	Probe: func(client string) probe {
		return probe{Fault: faultSpec{Kind: "half-open"}, Every: matrixTraffic, Window: max(detectMax(client), 3*matrixT) + 3*time.Second}
	},
	Check: func(t *testing.T, r *probeResult) {
		// The client's last octet from the broker came at most about T/4
		// before the fault (messages flow every T/4; heartbeats every T/2
		// even if they stall): its heartbeat timeout, at least 1.5T in every
		// client, cannot run out within T/2.
		if !r.Detected {
			t.Errorf("half-open: the client did not notice within %v", r.window)
		} else if r.DetectAfter < matrixT/2 || r.DetectAfter > detectMax(r.client)+time.Second {
			t.Errorf("half-open: the client noticed %.2fs after the fault; want between T/2=%v and its heartbeat bound %v", r.DetectAfter.Seconds(), matrixT/2, detectMax(r.client)+time.Second)
		} else if r.BrokerClosed && r.DetectAfter > r.BrokerAfter+time.Second {
			// The broker's close is an RST that reaches the client at once.
			t.Errorf("half-open: the client noticed %.2fs after the fault, later than the broker's close at %.2fs", r.DetectAfter.Seconds(), r.BrokerAfter.Seconds())
		}
		// The broker closes 2T–3T after the last octet it received, which came
		// about T/4 before the fault (at most T, the slowest client heartbeat,
		// if the client stalled): from T on, 2 s of slack for a loaded machine.
		if !r.BrokerClosed {
			t.Errorf("half-open: the broker did not close the connection within %v; its lines:\n%s", r.window, joinLines(r.BrokerLines))
		} else {
			if want := fmt.Sprintf("missed heartbeats from client, timeout: %ds", matrixT/time.Second); r.BrokerReason != want {
				t.Errorf("half-open: the broker closed the connection with %q, want %q", r.BrokerReason, want)
			}
			if lo, hi := matrixT, 3*matrixT+2*time.Second; r.BrokerAfter < lo || r.BrokerAfter > hi {
				t.Errorf("half-open: the broker closed %.2fs after the fault; want %v–%v", r.BrokerAfter.Seconds(), lo, hi)
			}
		}
	},
}

var reset = matrixCell{
	ID: "reset", Title: "reset, messages every T/4",
	Probe: func(string) probe {
		return probe{Fault: faultSpec{Kind: "reset"}, Every: matrixTraffic, Window: 5 * time.Second}
	},
	Check: func(t *testing.T, r *probeResult) {
		// A reset reaches a reading client at once; T is far more than that and
		// still less than any client's heartbeat timeout (1.5T at least).
		if !r.Detected {
			t.Errorf("reset: the client did not report the lost connection within %v", r.window)
		} else if r.DetectAfter > matrixT {
			t.Errorf("reset: the client reported the lost connection %.2fs after the fault; want within T=%v", r.DetectAfter.Seconds(), matrixT)
		}
		if !r.BrokerClosed {
			t.Errorf("reset: the broker's connection did not end; its lines:\n%s", joinLines(r.BrokerLines))
		} else if !strings.HasPrefix(r.BrokerReason, "reset by the fault") || r.BrokerAfter > time.Second {
			t.Errorf("reset: the broker's connection ended %.2fs after the fault with %q; want a one-line close within 1s", r.BrokerAfter.Seconds(), r.BrokerReason)
		}
	},
}

// briefFreezeOut lasts T/2: the broker's silence (the fault, plus at most
// about T/4 since the last message) stays well under every client's timeout.
var briefFreezeOut = matrixCell{
	ID: "freeze-out-brief", Title: "freeze-out for T/2, messages every T/4",
	Probe: func(string) probe {
		return probe{Fault: faultSpec{Kind: "freeze-out", For: matrixT / 2}, Every: matrixTraffic, Window: matrixT/2 + matrixT}
	},
	Check: func(t *testing.T, r *probeResult) {
		if r.Detected || !r.Alive {
			t.Errorf("brief freeze-out: the client lost the connection (%s); want it kept", r.Error)
		}
		if r.BrokerClosed {
			t.Errorf("brief freeze-out: the broker closed the connection (%s); want it kept", r.BrokerReason)
		}
		if r.Published < 4 || r.Received != r.Published {
			t.Errorf("brief freeze-out: %d of %d messages came back; want all of them (and at least 4)", r.Received, r.Published)
		}
		// Messages published while the broker held its output came back late:
		// proof that the fault was in force.
		if r.MaxDelay < matrixT/8 {
			t.Errorf("brief freeze-out: longest publish-to-delivery time %v; want at least T/8 (the broker held its frames for T/2)", r.MaxDelay)
		}
	},
}
