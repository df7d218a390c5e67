//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInspectLogSummaryMatchesRabbitMQ runs the log scenarios
// (integration/logscenarios: clean and abrupt closes, missed heartbeats,
// handshake timeouts, refused logins, named and unnamed, from five loopback
// addresses) against a broker of its own (the shared one's log holds every
// other test's connections) and checks that `beatmqctl inspect-log` summarises
// its log exactly as it summarises the RabbitMQ 3.10.8 log of the same
// scenarios checked in under cmd/beatmqctl/testdata. With
// BEATMQ_TARGET=rabbitmq the broker is a fresh RabbitMQ node, which checks the
// checked-in log against today's RabbitMQ.
func TestInspectLogSummaryMatchesRabbitMQ(t *testing.T) {
	ctl := filepath.Join(repoRoot(), "bin", "beatmqctl")
	if _, err := os.Stat(ctl); err != nil {
		t.Fatalf("%s not found (make integration builds it): %v", ctl, err)
	}
	dir := t.TempDir()
	driver := filepath.Join(dir, "logscenarios")
	if err := runQuiet("go", "build", "-o", driver, "./logscenarios"); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("BEATMQ_TARGET") == "rabbitmq" {
		// Not the shared node's name.
		t.Setenv("BEATMQ_RABBITMQ_NODE", fmt.Sprintf("beatmq-logs-%d@localhost", os.Getpid()))
		t.Setenv("BEATMQ_RABBITMQ_PORT", "")
	}
	b, err := startTarget(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Stop(); err != nil {
			t.Error(err)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, driver, "--addr", b.Addr()).CombinedOutput()
	if err != nil {
		t.Fatalf("logscenarios: %v\n%s", err, out)
	}
	// The last scenario's close is the last line the broker writes for
	// them; RabbitMQ's logger may write it a little later.
	waitLog := func() bool {
		for range 50 {
			if data, err := os.ReadFile(b.LogPath()); err == nil && bytes.Count(data, []byte("{handshake_timeout,")) == 2 {
				return true
			}
			time.Sleep(100 * time.Millisecond)
		}
		return false
	}
	if !waitLog() {
		t.Fatalf("%s: the handshake timeouts were not logged within 5 s", b.LogPath())
	}

	summary := func(file string) (map[string]any, string) {
		t.Helper()
		out, err := exec.Command(ctl, "inspect-log", "--json", file).Output()
		if err != nil {
			t.Fatalf("beatmqctl inspect-log %s: %v", file, err)
		}
		var s map[string]any
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("beatmqctl inspect-log %s: %v\n%s", file, err, out)
		}
		// RabbitMQ logs no late-heartbeat warnings; beatmq warns before each
		// missed-heartbeat close (checked below). The worst lists rank by
		// them too, so they are left out of the comparison.
		var parts []string
		for _, k := range []string{"connections", "totals", "clients", "hosts"} {
			v, _ := json.Marshal(dropKey(s[k], "late_heartbeats"))
			parts = append(parts, k+": "+string(v))
		}
		return s, strings.Join(parts, "\n")
	}
	live, got := summary(b.LogPath())
	_, want := summary(filepath.Join(repoRoot(), "cmd", "beatmqctl", "testdata", "rabbitmq-3.10.8.log"))
	if got != want {
		t.Fatalf("%s's log summarised as\n%s\nwant (RabbitMQ 3.10.8's)\n%s", b.Kind(), got, want)
	}
	if b.Kind() != "rabbitmq" {
		totals, _ := live["totals"].(map[string]any)
		if late, missed := totals["late_heartbeats"], totals["missed_heartbeats"]; late != missed {
			t.Fatalf("%v late-heartbeat warnings for %v missed-heartbeat closes, want one before each", late, missed)
		}
	}
	if n, _ := live["unreadable_lines"].(float64); n != 0 {
		t.Fatalf("%s: %s unreadable lines", b.LogPath(), strconv.FormatFloat(n, 'f', -1, 64))
	}
}

// dropKey returns v (decoded JSON) without the object key k at any depth.
func dropKey(v any, k string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for key, val := range x {
			if key != k {
				out[key] = dropKey(val, k)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = dropKey(val, k)
		}
		return out
	}
	return v
}
