package main

import (
	"context"
	"os"
	"testing"
	"time"
)

func backlogTestFlags(count int64) *backlogFlags {
	return &backlogFlags{count: count, size: 16, window: 200, prefetch: 100, heartbeat: time.Second,
		maxTime: 10 * time.Second, blockedTimeout: 10 * time.Second, idleTimeout: 5 * time.Second, sample: 20 * time.Millisecond}
}

func runBacklogFake(t *testing.T, b *fakeBroker, f *backlogFlags) runValues {
	t.Helper()
	bench, err := newBacklogBench(f)
	if err != nil {
		t.Fatal(err)
	}
	v, err := bench.Run(withTag(context.Background(), "[test]"), &target{Label: "fake", EP: b.endpoint(), PID: os.Getpid()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBacklogAgainstFake(t *testing.T) {
	for _, noAck := range []bool{false, true} {
		b := startFake(t, 0)
		f := backlogTestFlags(3000)
		f.noAck = noAck
		v := runBacklogFake(t, b, f)
		if v["built"] != 3000 || v["confirmed"] != 3000 || v["drained"] != 3000 || v["left"] != 0 || v["lost"] != 0 || v["blocked"] != 0 {
			t.Fatalf("noack=%v: counts %v", noAck, v)
		}
		if v["build_rate"] <= 0 || v["drain_rate"] <= 0 || v["peak_rss_build"] <= 0 || v["peak_rss_drain"] <= 0 {
			t.Fatalf("noack=%v: figures %v", noAck, v)
		}
		if !noAck && b.acks.Load() != 3000 {
			t.Fatalf("the broker saw %d acks", b.acks.Load())
		}
	}
}

// A broker whose alarm blocks the publisher: building ends after
// --blocked-timeout and reports what the queue reached, which is then drained.
func TestBacklogBlockedByBroker(t *testing.T) {
	b := startFake(t, 0)
	b.blockAfter = 500
	f := backlogTestFlags(100000)
	f.blockedTimeout = 300 * time.Millisecond
	v := runBacklogFake(t, b, f)
	if v["blocked"] != 1 || v["blocked_s"] < 0.3 || v["built"] != 500 || v["confirmed"] != 500 || v["drained"] != 500 || v["lost"] != 0 {
		t.Fatalf("figures %v", v)
	}
}

func TestBacklogMaxTime(t *testing.T) {
	b := startFake(t, 0)
	f := backlogTestFlags(1 << 40)
	f.maxTime = time.Second
	v := runBacklogFake(t, b, f)
	if v["blocked"] != 1 || v["built"] < v["confirmed"] || v["confirmed"] <= 0 || v["drained"]+v["left"] != v["built"] || v["lost"] != 0 {
		t.Fatalf("figures %v", v)
	}
	if v["build_s"] < 1 {
		t.Fatalf("build_s %v with --max-time 1s", v["build_s"])
	}
}
