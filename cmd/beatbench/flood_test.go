package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// floodTestFlags are short flood settings for the fake broker.
func floodTestFlags() *floodFlags {
	return &floodFlags{size: 64, duration: time.Second, heartbeat: time.Second, consumeRate: 500,
		prefetch: 10, settle: 2 * time.Second, cutAfter: 200 * time.Millisecond, sample: 20 * time.Millisecond}
}

func runFloodFake(t *testing.T, b *fakeBroker, f *floodFlags) runValues {
	t.Helper()
	bench, err := newFloodBench(f)
	if err != nil {
		t.Fatal(err)
	}
	// The test's own process stands in for the broker's pid.
	v, err := bench.Run(withTag(context.Background(), "[test]"), &target{Label: "fake", EP: b.endpoint(), PID: os.Getpid()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkFloodCounts checks the figures that must agree with each other
// whatever the broker did.
func checkFloodCounts(t *testing.T, v runValues) {
	t.Helper()
	if v["published"] <= 0 || v["consumed"] <= 0 || v["confirmed"]+v["nacked"]+v["unconfirmed"] != v["published"] {
		t.Fatalf("counts %v", v)
	}
	if v["expected_min"] != v["confirmed"]-v["consumed"] || v["expected_max"] != v["published"]-v["consumed"] {
		t.Fatalf("expected range %v..%v from %v", v["expected_min"], v["expected_max"], v)
	}
	if v["peak_rss"] <= 0 || v["final_rss"] <= 0 || v["peak_rss"] < v["final_rss"] {
		t.Fatalf("RSS figures %v", v)
	}
}

func TestFloodAgainstFake(t *testing.T) {
	b := startFake(t, 0)
	b.heartbeatEvery = 100 * time.Millisecond
	v := runFloodFake(t, b, floodTestFlags())
	checkFloodCounts(t, v)
	// Every confirmed message is either consumed or back in the queue (the
	// fake stores a closed consumer's unacked deliveries again).
	if v["lost"] != 0 || v["false_closes"] != 0 || v["nacked"] != 0 {
		t.Fatalf("figures %v", v)
	}
	if v["queue_len"] < v["expected_min"] || v["queue_len"] > v["expected_max"] {
		t.Fatalf("queue length %v outside %v..%v", v["queue_len"], v["expected_min"], v["expected_max"])
	}
	if v["heartbeats"] <= 0 || v["max_gap"] <= 0 || v["p99_gap"] > v["max_gap"] {
		t.Fatalf("heartbeat figures %v", v)
	}
}

func TestFloodReportsLoss(t *testing.T) {
	b := startFake(t, 0)
	b.hide.Store(1 << 40) // every queue looks empty
	v := runFloodFake(t, b, floodTestFlags())
	checkFloodCounts(t, v)
	if v["queue_len"] != 0 || v["expected_min"] <= 0 || v["lost"] != v["expected_min"] {
		t.Fatalf("loss not reported: %v", v)
	}
	// This fake sends no heartbeats: the watcher waited 2 T for one after the
	// run, and the open gap counts.
	if v["heartbeats"] != 0 || v["max_gap"] < 2 {
		t.Fatalf("heartbeat figures %v", v)
	}
}

func TestFloodPublisherHeldByBroker(t *testing.T) {
	b := startFake(t, 0)
	b.blockAfter = 200 // then connection.blocked, and the fake stops reading
	f := floodTestFlags()
	f.settle = 200 * time.Millisecond
	v := runFloodFake(t, b, f)
	checkFloodCounts(t, v)
	if v["blocked_s"] <= 0 || v["confirmed"] != 200 || v["lost"] != 0 || v["false_closes"] != 0 {
		t.Fatalf("figures %v", v)
	}
}

func TestRateValue(t *testing.T) {
	for in, want := range map[string]float64{"2000": 2000, "2000/s": 2000, " 12.5/s": 12.5, "0": 0} {
		var r rateValue
		if err := r.Set(in); err != nil || float64(r) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, float64(r), err, want)
		}
	}
	for _, in := range []string{"", "-1", "fast", "2000/m"} {
		var r rateValue
		if err := r.Set(in); err == nil {
			t.Errorf("Set(%q): no error", in)
		}
	}
	if r := rateValue(2000); r.String() != "2000/s" {
		t.Fatalf("String() = %q", r.String())
	}
}
