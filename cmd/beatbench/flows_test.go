package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestThroughputAgainstFake(t *testing.T) {
	b := startFake(t, 0)
	for _, acks := range []bool{false, true} {
		f := &throughputFlags{size: 64, duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond,
			confirms: acks, acks: acks, prefetch: 100, maxBacklog: 200, client: "raw", heartbeat: time.Second,
			durable: acks, persistent: acks}
		bench, err := newThroughputBench(f)
		if err != nil {
			t.Fatal(err)
		}
		tg := &target{Label: "fake", EP: b.endpoint()}
		v, err := bench.Run(withTag(context.Background(), "[test]"), tg, 1)
		if err != nil {
			t.Fatalf("acks=%v: %v", acks, err)
		}
		if v["consume_rate"] <= 0 || v["publish_rate"] <= 0 || v["latency_p50"] <= 0 || v["latency_p99"] < v["latency_p50"] {
			t.Fatalf("acks=%v: figures %v", acks, v)
		}
		if acks && (v["confirm_rate"] <= 0 || v["confirm_p50"] <= 0 || v["confirm_p99"] < v["confirm_p50"] || b.acks.Load() == 0) {
			t.Fatalf("confirms/acks not seen: %v, broker saw %d acks", v, b.acks.Load())
		}
	}
}

func TestUnderloadAgainstFake(t *testing.T) {
	b := startFake(t, 0)
	f := &underloadFlags{heartbeat: time.Second, duration: 300 * time.Millisecond, size: 16, consumeRate: 1000, prefetch: 10, maxBacklog: 1000}
	bench, err := newUnderloadBench(f)
	if err != nil {
		t.Fatal(err)
	}
	v, err := bench.Run(withTag(context.Background(), "[test]"), &target{Label: "fake", EP: b.endpoint()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The fake sends no heartbeats: no gaps, and nobody was closed.
	if v["false_closes"] != 0 || v["heartbeats"] != 0 || v["publish_rate"] <= 0 {
		t.Fatalf("figures %v", v)
	}
}

func TestRecoveryAgainstFake(t *testing.T) {
	b := startFake(t, 0)
	// The fake keeps its messages across the "restart": stop does nothing,
	// start prints this process's pid.
	f := &recoveryFlags{queues: 3, messages: 50, size: 16, window: 20, timeout: 30 * time.Second,
		stops: []string{"fake=true"}, starts: []string{"fake=echo " + strconv.Itoa(os.Getpid())}}
	bench, err := newRecoveryBench(f)
	if err != nil {
		t.Fatal(err)
	}
	v, err := bench.Run(withTag(context.Background(), "[test]"), &target{Label: "fake", EP: b.endpoint()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v["recovered_msgs"] != 150 || v["recovery_s"] <= 0 || v["ready_s"] < v["recovery_s"] || v["rss_recovered"] <= 0 || v["fill_rate"] <= 0 {
		t.Fatalf("figures %v", v)
	}
	if _, err := bench.Run(withTag(context.Background(), "[test]"), &target{Label: "other", EP: b.endpoint()}, 1); err == nil {
		t.Fatal("a target without --stop and --start: no error")
	}
}
