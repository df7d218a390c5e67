package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistBucketsContiguous(t *testing.T) {
	_, prevHi := histBounds(0)
	for i := 1; i < histBuckets; i++ {
		lo, hi := histBounds(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], previous ended at %d", i, lo, hi, prevHi)
		}
		prevHi = hi
	}
	if prevHi != ^uint64(0) {
		t.Fatalf("last bucket ends at %d", prevHi)
	}
}

func TestHistIndexInBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 40, ^uint64(0)}
	for range 10000 {
		vals = append(vals, r.Uint64()>>r.IntN(64))
	}
	for _, v := range vals {
		i := histIndex(v)
		lo, hi := histBounds(i)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if hi-lo > lo/32+1 {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/32 of its value", i, lo, hi)
		}
	}
}

func TestHistQuantile(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	r := rand.New(rand.NewPCG(3, 4))
	var exact []float64
	for range 100000 {
		d := time.Duration(r.ExpFloat64() * float64(5*time.Millisecond))
		h.record(d)
		exact = append(exact, float64(d))
	}
	h.record(-time.Second) // counts as zero
	exact = append(exact, 0)
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := percentileSorted(exact, q*100)
		got := float64(h.quantile(q))
		if got < want*0.98 || got > want*1.02 {
			t.Errorf("q%.2f = %v, exact %v", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.count() != 100001 {
		t.Errorf("count = %d", h.count())
	}
	var m histogram
	m.merge(&h)
	m.merge(&h)
	if m.count() != 2*h.count() || m.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merge: count %d, median %v vs %v", m.count(), m.quantile(0.5), h.quantile(0.5))
	}
}
