package main

import (
	"math"
	"os"
	"testing"
	"time"
)

func TestRSSSamplerOwnProcess(t *testing.T) {
	s := startRSSSampler(os.Getpid(), 5*time.Millisecond)
	defer s.close()
	first := s.current()
	if math.IsNaN(first) || first <= 0 {
		t.Fatalf("current() = %v", first)
	}
	// The background loop adds readings (three are taken by hand here).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		n := s.samples
		s.mu.Unlock()
		if n >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d samples after 10 s", n)
		}
	}
	peak := s.newPhase()
	if peak < first || s.runPeak() < peak || s.phasePeak() > s.runPeak() {
		t.Fatalf("phase peak %v, run peak %v, first %v", peak, s.runPeak(), first)
	}
}

func TestRSSSamplerWithoutPid(t *testing.T) {
	var s *rssSampler = startRSSSampler(0, time.Millisecond)
	if s != nil {
		t.Fatal("a sampler without a pid")
	}
	for _, x := range []float64{s.current(), s.runPeak(), s.newPhase(), s.phasePeak(), mib(0)} {
		if !math.IsNaN(x) {
			t.Fatalf("figure without a pid: %v", x)
		}
	}
	s.close()
}

func TestMaxGapInT(t *testing.T) {
	t0 := time.Unix(0, 0)
	T := 2 * time.Second
	times := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second), t0.Add(2500 * time.Millisecond)}
	if g := maxGapInT(times, T, t0.Add(3*time.Second)); g != 0.5 {
		t.Fatalf("max gap %v, want 0.5", g)
	}
	// No heartbeat since 2.5 s: at 7.5 s the open gap (5 s) is the largest.
	if g := maxGapInT(times, T, t0.Add(7500*time.Millisecond)); g != 2.5 {
		t.Fatalf("open gap %v, want 2.5", g)
	}
	if g := maxGapInT(nil, T, t0); g != 0 {
		t.Fatalf("no times: %v", g)
	}
}
