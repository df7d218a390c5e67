//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRoundtrip is scenario 1: connect asking for a 5 s heartbeat, check the
// negotiated value the client reports, declare a queue, publish 1,000 messages
// with publisher confirms, consume them with manual acks, check count, payloads
// and order, close cleanly; then check the broker's log lines for the connection.
func TestRoundtrip(t *testing.T) {
	b := broker(t)
	const count = 1000
	for _, c := range clients {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			var detail string
			cell(t, colRoundtrip, c.Name, &detail)
			name := "interop-roundtrip-" + c.Name
			start := time.Now()
			s := run(t, c, scenarioArgs{Scenario: "roundtrip", Port: b.Port(), Heartbeat: 5, Name: name,
				Queue: name, Count: count, Seconds: 10}, 90*time.Second)
			open, err := s.WaitOpen(60 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Result(60 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			detail = fmt.Sprintf("hb %s, %d/%d/%d, %.1fs", intp(open.Heartbeat), res.Published, res.Confirmed, res.Received, time.Since(start).Seconds())
			if res.Error != "" {
				t.Fatalf("%s failed: %s: %s%s", c.Name, res.ErrorType, res.Error, s.Stderr())
			}
			if open.Heartbeat == nil || *open.Heartbeat != 5 {
				t.Errorf("negotiated heartbeat %s, want 5", intp(open.Heartbeat))
			}
			if res.Published != count || res.Confirmed != count || res.Received != count {
				t.Errorf("published %d, confirmed %d, received %d; want %d each", res.Published, res.Confirmed, res.Received, count)
			}
			if res.PayloadErrors != 0 {
				t.Errorf("%d of %d messages arrived with the wrong payload or out of order", res.PayloadErrors, res.Received)
			}
			if !res.Closed {
				t.Errorf("connection not closed cleanly: %s", res.Raw)
			}
			cl, err := waitConnLog(b, connKey{Name: name}, []string{evAccepting, evClientName, evAuth, evCleanClose},
				[]string{evMissed, evUnexpected}, 5*time.Second)
			recordLog(c.Name, "roundtrip", cl, err)
			if err != nil {
				t.Error(err)
			}
		})
	}
	if wantAmqpTools() {
		t.Run("amqp-tools", func(t *testing.T) {
			t.Parallel()
			var detail string
			cell(t, colRoundtrip, "amqp-tools", &detail)
			toolsRoundtrip(t, b, count, &detail)
		})
	}
}

// toolsRoundtrip is scenario 1 reduced to what amqp-tools can do: amqp-publish
// has no publisher confirms and no program reports the negotiated heartbeat.
// amqp-publish -l sends each stdin line as a message; amqp-consume acks each
// message after `cat` wrote its body.
func toolsRoundtrip(t *testing.T, b target, count int, detail *string) {
	queue := "interop-roundtrip-amqp-tools"
	start := time.Now()
	declareQueue(t, b.Port(), queue)
	var in strings.Builder
	for i := 0; i < count; i++ {
		fmt.Fprintf(&in, "msg-%05d\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := tools(ctx, in.String(), "amqp-publish", "--url", toolsURL(b.Port()), "--heartbeat=5", "-r", queue, "-l"); err != nil {
		t.Fatal(err)
	}
	p := startConsume(t, toolsURL(b.Port()), 5, queue, count, 60*time.Second)
	out, stderr, err, ok := p.Wait(60 * time.Second)
	if !ok {
		t.Fatal("amqp-consume did not finish within 60s")
	}
	if err != nil {
		t.Fatalf("amqp-consume: %v: %s", err, stderr)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	bad := 0
	for i, g := range got {
		if g != fmt.Sprintf("msg-%05d", i) {
			bad++
		}
	}
	*detail = fmt.Sprintf("no confirms, %d/-/%d, %.1fs", count, len(got), time.Since(start).Seconds())
	if len(got) != count || bad != 0 {
		t.Errorf("received %d messages, %d with the wrong payload or out of order; want %d in order", len(got), bad, count)
	}
}

// intp formats an optional int.
func intp(p *int) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
