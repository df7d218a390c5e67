package main

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestGateUnlimited(t *testing.T) {
	g := newGate(0)
	if n := g.acquire(500, nil); n != 500 {
		t.Fatalf("unlimited acquire = %d", n)
	}
	g.release(500)
	if g.outstanding() != 0 {
		t.Fatalf("unlimited gate counts: %d", g.outstanding())
	}
}

func TestGateGrantsAtMostTheLimit(t *testing.T) {
	g := newGate(100)
	if n := g.acquire(60, nil); n != 60 {
		t.Fatalf("first acquire = %d", n)
	}
	if n := g.acquire(60, nil); n != 40 {
		t.Fatalf("second acquire = %d, want the 40 left", n)
	}
	if g.outstanding() != 100 {
		t.Fatalf("outstanding = %d", g.outstanding())
	}
}

func TestGateBlocksUntilReleased(t *testing.T) {
	g := newGate(100)
	g.acquire(100, nil)
	got := make(chan int64)
	go func() { got <- g.acquire(50, nil) }()
	select {
	case n := <-got:
		t.Fatalf("acquire on a full gate returned %d", n)
	case <-time.After(50 * time.Millisecond):
	}
	g.release(10) // below the threshold (25): stays asleep or wakes and waits again
	g.release(40)
	select {
	case n := <-got:
		if n != 50 {
			t.Fatalf("acquire after release = %d, want 50", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("acquire did not wake after release")
	}
}

func TestGateStop(t *testing.T) {
	g := newGate(10)
	g.acquire(10, nil)
	stop := make(chan struct{})
	got := make(chan int64)
	go func() { got <- g.acquire(1, stop) }()
	close(stop)
	if n := <-got; n != 0 {
		t.Fatalf("acquire after stop = %d", n)
	}
}

func TestGateConcurrentNeverExceedsLimit(t *testing.T) {
	const limit, total = 64, 20000
	g := newGate(limit)
	var wg sync.WaitGroup
	items := make(chan int64, limit)
	wg.Add(1)
	go func() { // consumer
		defer wg.Done()
		for n := int64(0); n < total; n++ {
			<-items
			if o := g.outstanding(); o > limit || o < 0 {
				t.Errorf("outstanding %d outside [0, %d]", o, limit)
				return
			}
			g.release(1)
		}
	}()
	for sent := int64(0); sent < total; {
		n := g.acquire(min(10, total-sent), nil)
		for range n {
			items <- 1
		}
		sent += n
	}
	wg.Wait()
	if g.outstanding() != 0 {
		t.Fatalf("outstanding at the end = %d", g.outstanding())
	}
}

func TestConfirmTracker(t *testing.T) {
	var c confirmTracker
	var seen []uint64
	steps := []struct {
		tag      uint64
		multiple bool
		want     int64
	}{
		{1, false, 1},
		{3, false, 1}, // out of order
		{3, false, 0}, // repeated
		{5, true, 3},  // 2, 4 and 5 are new; 3 was already counted
		{4, false, 0}, // covered by the multiple
		{2, true, 0},
		{6, false, 1},
		{10, true, 4},
	}
	for i, s := range steps {
		if got := c.confirm(s.tag, s.multiple, func(t uint64) { seen = append(seen, t) }); got != s.want {
			t.Fatalf("step %d confirm(%d, %v) = %d, want %d", i, s.tag, s.multiple, got, s.want)
		}
	}
	if c.low != 10 || len(c.extra) != 0 {
		t.Fatalf("state low=%d extra=%v", c.low, c.extra)
	}
	if want := []uint64{1, 3, 2, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(seen, want) {
		t.Fatalf("tags reported %v, want %v", seen, want)
	}
}
