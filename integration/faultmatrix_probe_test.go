//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// matrixT is the heartbeat every fault-matrix connection negotiates: short,
// and accepted as is by every client (pika needs at least 1).
const matrixT = 2 * time.Second

// matrixSettle is how long a connection runs, messages flowing, before the
// fault is injected.
const matrixSettle = time.Second

// probe is one observation: a client's watch scenario, a fault injected into
// its connection, and how long to look.
type probe struct {
	Fault  faultSpec
	Every  time.Duration // the client publishes to itself this often (0: idle)
	Window time.Duration // how long to watch after the fault was set, at most
}

// probeResult is what one probe saw, on both sides.
type probeResult struct {
	client  string        // the client's name
	window  time.Duration // the probe's window
	Library string        // the client library and runtime, from the open line

	// The client.
	Detected    bool          // the library reported the connection lost
	DetectAfter time.Duration // after the fault was set
	Error       string        // what it reported ("type: text")
	Alive       bool          // at the end, the library still had the connection open
	Published   int           // messages the client published to itself
	Received    int           // of which came back
	MaxDelay    time.Duration // longest publish-to-delivery time

	// The broker.
	BrokerWarned bool          // it logged a late-heartbeat warning before the probe stopped the client
	BrokerWarnAt time.Duration // after the fault was set
	BrokerClosed bool          // the broker's connection ended before the probe stopped the client
	BrokerAfter  time.Duration // after the fault was set
	BrokerReason string        // from its log: missed heartbeats, client unexpectedly closed TCP connection, ...
	BrokerLines  []string      // the connection's log lines from the fault on

	// When the client gave up but the broker kept its connection while the
	// fault lasted: whether it closed within 5 s of the fault's clearing, when
	// (after the clearing) and why.
	BrokerClosedOnClear bool
	BrokerAfterClear    time.Duration
	BrokerReasonOnClear string

	Problem string // a harness failure (the probe says nothing then)
}

// failed records a harness failure.
func (r *probeResult) failed(format string, args ...any) *probeResult {
	r.Problem = fmt.Sprintf(format, args...)
	return r
}

// runProbe runs c's watch scenario on a connection called name, lets it
// settle, injects p.Fault, and watches until the client reported the loss
// and the broker's connection is gone, or p.Window passes; then it clears the
// fault, tells the client to stop and reads the broker's log.
func runProbe(t *testing.T, b *beatmqTarget, c *client, name string, p probe) *probeResult {
	t.Helper()
	r := &probeResult{client: c.Name, window: p.Window}
	bound := matrixSettle + p.Window + 30*time.Second
	s := run(t, c, scenarioArgs{
		Scenario: "watch", Port: b.Port(), Heartbeat: int(matrixT / time.Second), Name: name, Queue: name,
		Every: p.Every.Seconds(), Seconds: bound.Seconds(),
	}, bound+30*time.Second)
	defer s.Kill()
	open, err := s.WaitOpen(60 * time.Second)
	if err != nil {
		return r.failed("%v", err)
	}
	r.Library = open.Library
	if open.Heartbeat == nil || time.Duration(*open.Heartbeat)*time.Second != matrixT {
		return r.failed("negotiated heartbeat %s, want %v", intp(open.Heartbeat), matrixT)
	}
	time.Sleep(matrixSettle)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	setAt := time.Now()
	err = b.SetFault(ctx, name, p.Fault)
	cancel()
	if err != nil {
		return r.failed("injecting %s: %v", p.Fault.Kind, err)
	}

	var res programLine
	clientDone := false
	deadline := setAt.Add(p.Window)
	brokerListed := true
	for time.Now().Before(deadline) {
		if !clientDone {
			select {
			case res = <-s.result:
				clientDone = true
			default:
			}
		}
		brokerListed = listed(b, name)
		if clientDone && !brokerListed {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopAt := time.Now()
	brokerListed = listed(b, name)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	err = b.ClearFault(ctx, name)
	cancel()
	var apiErr *apiError
	if err != nil && !(errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound) {
		return r.failed("clearing the fault: %v", err)
	}
	if !clientDone {
		s.Stop()
		if res, err = s.Result(20 * time.Second); err != nil {
			return r.failed("%v", err)
		}
	} else if brokerListed {
		// The client gave up but the broker kept its connection while the
		// fault lasted: see whether it goes now that the fault is cleared.
		for end := time.Now().Add(5 * time.Second); brokerListed && time.Now().Before(end); {
			time.Sleep(100 * time.Millisecond)
			brokerListed = listed(b, name)
		}
	}
	if res.TDetect == nil && res.Error != "" {
		return r.failed("the scenario failed: %s: %s%s", res.ErrorType, res.Error, s.Stderr())
	}

	r.Alive = res.Alive != nil && *res.Alive
	r.Published, r.Received = res.Published, res.Received
	r.MaxDelay = time.Duration(res.MaxDelay * float64(time.Second))
	if res.TDetect != nil {
		r.Detected = true
		r.Error = strings.TrimSpace(res.ErrorType + ": " + res.Error)
	}
	if err := r.readBroker(b, name, p.Fault.Kind, res, !brokerListed, stopAt); err != nil {
		return r.failed("%v", err)
	}
	return r
}

// listed reports whether the broker lists a connection called name (true
// when the API does not answer: not known to be gone).
func listed(b *beatmqTarget, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conns, err := b.Connections(ctx)
	if err != nil {
		return true
	}
	for _, c := range conns {
		if c.ConnectionName == name {
			return true
		}
	}
	return false
}

// readBroker fills in the broker's side from its log: when the fault was set
// (the time every figure counts from), and, when the broker's connection
// ended before stopAt (when the fault was cleared), when and why. kind is
// the fault's; gone says the API no longer listed the connection.
func (r *probeResult) readBroker(b *beatmqTarget, name, kind string, res programLine, gone bool, stopAt time.Time) error {
	k := connKey{Name: name}
	var fl faultLog
	var err error
	// The log is written as things happen; give a close that has just
	// happened a moment to land.
	for end := time.Now().Add(10 * time.Second); ; {
		fl, err = readFaultLog(b, k)
		if err == nil && (!gone || !fl.Closed.IsZero()) {
			break
		}
		if time.Now().After(end) {
			if err == nil {
				err = fmt.Errorf("connection %s: gone from /api/connections, but no close line in the broker log", name)
			}
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.TDetect != nil {
		r.DetectAfter = when(*res.TDetect).Sub(fl.Injected)
	}
	r.BrokerLines = fl.Lines
	if !fl.Warned.IsZero() && fl.Warned.Before(stopAt) {
		r.BrokerWarned, r.BrokerWarnAt = true, fl.Warned.Sub(fl.Injected)
	}
	if !fl.Closed.IsZero() && !fl.Closed.Before(stopAt) && r.Detected {
		r.BrokerClosedOnClear = true
		r.BrokerAfterClear, r.BrokerReasonOnClear = fl.Closed.Sub(stopAt), fl.Reason
	}
	if !fl.Closed.IsZero() && fl.Closed.Before(stopAt) {
		r.BrokerClosed = true
		r.BrokerAfter = fl.Closed.Sub(fl.Injected)
		r.BrokerReason = fl.Reason
		if fl.Reason == "closed" && kind == "reset" {
			r.BrokerReason = "reset by the fault (fault_reset: one-line close)"
		}
	}
	return nil
}

// joinLines indents log lines for an error message.
func joinLines(lines []string) string {
	if len(lines) == 0 {
		return "  (none)"
	}
	return "  " + strings.Join(lines, "\n  ")
}
