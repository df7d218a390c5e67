//go:build integration

package integration

import (
	"strings"
	"testing"
)

// TestLogLayout is scenario 5's file-wide half (the per-connection half runs in
// every scenario above, through waitConnLog): every line the broker wrote must
// have RabbitMQ 3.10's layout — timestamp with microseconds and UTC offset,
// [level], the logging process's id, the message — and the events the earlier
// scenarios produced must each have been seen with their exact wording. Against
// RabbitMQ (make interop-rabbitmq) the same regexes run over RabbitMQ's own log.
func TestLogLayout(t *testing.T) {
	b := broker(t)
	lines, bad, err := readLog(b.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatalf("the broker's log %s is empty", b.LogPath())
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], "...")
		}
		t.Errorf("%d of %d lines do not have RabbitMQ's layout:\n%s", len(bad), len(lines)+len(bad), strings.Join(bad, "\n"))
	}
	// Each message format must have matched somewhere in the log, with the
	// level RabbitMQ uses.
	formats := []struct {
		name  string
		level string
		match func(logLine) bool
	}{
		{"accepting AMQP connection", "info", func(l logLine) bool { return reAccepting.MatchString(l.Msg) }},
		{"client-provided name", "info", func(l logLine) bool { return reClientName.MatchString(l.Msg) }},
		{"authenticated and granted access", "info", func(l logLine) bool { return reAuth.MatchString(l.Msg) }},
		{"clean close", "info", func(l logLine) bool { return reCleanClose.MatchString(l.Msg) }},
		{"missed heartbeats from client", "error", func(l logLine) bool { return reMissed.MatchString(l.Msg) }},
		{"client unexpectedly closed TCP connection", "warning", func(l logLine) bool { return reUnexpected.MatchString(l.Msg) }},
	}
	for _, f := range formats {
		n, wrongLevel := 0, 0
		for _, l := range lines {
			if f.match(l) {
				n++
				if l.Level != f.level {
					wrongLevel++
				}
			}
		}
		t.Logf("%-42s %4d lines", f.name, n)
		if wrongLevel > 0 {
			t.Errorf("%q: %d lines not at level %s", f.name, wrongLevel, f.level)
		}
		if n == 0 && scenariosRan() {
			t.Errorf("no %q line in the whole log, though the scenarios that produce it ran", f.name)
		}
	}
}
