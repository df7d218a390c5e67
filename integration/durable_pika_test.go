//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pikaDurableResult is the result line of python/pika_durable.py.
type pikaDurableResult struct {
	Published     int      `json:"published"`
	Confirmed     int      `json:"confirmed"`
	DurableCount  int      `json:"durable_count"`
	Bodies        []string `json:"bodies"`
	Received      int      `json:"received"`
	Redelivered   int      `json:"redelivered"`
	Persistent    int      `json:"persistent"`
	PayloadErrors int      `json:"payload_errors"`
	LeftCount     int      `json:"left_count"`
	Error         string   `json:"error"`
	ErrorType     string   `json:"error_type"`
}

// TestDurableKill9Pika is issue 11's report, as a new user tried it with
// pika: declare the durable queue durq, publish 100 messages with
// delivery_mode=2 and publisher confirms, all confirmed; SIGKILL the
// broker; start it again on the same --data-dir; consume: the queue is
// there with exactly the 100 messages, in order, persistent, marked
// redelivered (after a stop that was not clean beatmq flags every recovered
// message, since a delivery mark may have been lost with the crash), and
// empty afterwards.
func TestDurableKill9Pika(t *testing.T) {
	skipOnRabbitMQ(t)
	if err := runQuiet(pythonBin(), "-c", "import pika"); err != nil {
		t.Fatalf("pika is not installed for %s (run `make deps`): %v", pythonBin(), err)
	}
	const count = 100
	b := newCrashBroker(t, "durable-pika")
	if err := b.start("data"); err != nil {
		t.Fatal(err)
	}
	pub, err := runPikaDurable(b, "publish", count)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Published != count || pub.Confirmed != count {
		t.Fatalf("published %d, confirmed %d; want %d each", pub.Published, pub.Confirmed, count)
	}
	if err := b.kill(); err != nil {
		t.Fatal(err)
	}
	if err := b.start("data"); err != nil {
		t.Fatalf("restart after SIGKILL: %v", err)
	}
	res, err := runPikaDurable(b, "consume", count)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pika: %d published and confirmed; after SIGKILL and restart: durq holds %d, %d consumed (%d persistent, %d redelivered, %d out of place), %d left",
		pub.Confirmed, res.DurableCount, res.Received, res.Persistent, res.Redelivered, res.PayloadErrors, res.LeftCount)
	if res.DurableCount != count {
		t.Errorf("after the restart durq holds %d messages, want %d", res.DurableCount, count)
	}
	if res.Received != count || res.PayloadErrors != 0 {
		var bad []string
		for i, body := range res.Bodies {
			if want := fmt.Sprintf("durq-%05d", i); body != want && len(bad) < 10 {
				bad = append(bad, fmt.Sprintf("#%d %s (want %s)", i, body, want))
			}
		}
		t.Errorf("consumed %d messages, %d out of place; want exactly %d in order. First differences: %s",
			res.Received, res.PayloadErrors, count, strings.Join(bad, ", "))
	}
	if res.Persistent != res.Received {
		t.Errorf("%d of %d messages came back with delivery_mode 2", res.Persistent, res.Received)
	}
	if res.Redelivered != res.Received {
		t.Errorf("%d of %d messages came back redelivered after the kill, want all", res.Redelivered, res.Received)
	}
	if res.LeftCount != 0 {
		t.Errorf("%d messages left in durq after consuming them all", res.LeftCount)
	}
}

// runPikaDurable runs python/pika_durable.py for one phase (bounded to 90 s)
// and returns its result line.
func runPikaDurable(b *crashBroker, phase string, count int) (pikaDurableResult, error) {
	var res pikaDurableResult
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonBin(), "-u", filepath.Join("python", "pika_durable.py"),
		"--host", "127.0.0.1", "--port", strconv.Itoa(b.port), "--phase", phase, "--queue", "durq", "--count", strconv.Itoa(count))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	if jerr := json.Unmarshal([]byte(last), &res); jerr != nil {
		return res, fmt.Errorf("pika %s: no result line (exit: %v): %q\nstderr: %s", phase, err, stdout.String(), stderr.String())
	}
	if res.Error != "" {
		return res, fmt.Errorf("pika %s failed: %s: %s\nstderr: %s", phase, res.ErrorType, res.Error, stderr.String())
	}
	if err != nil {
		return res, fmt.Errorf("pika %s: %v\nstderr: %s", phase, err, stderr.String())
	}
	return res, nil
}
