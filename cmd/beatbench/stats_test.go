package main

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 9}, 5},
	}
	for _, c := range cases {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("median modified its input: %v", c.in)
			}
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

func TestPercentileSorted(t *testing.T) {
	s := make([]float64, 100)
	for i := range s {
		s[i] = float64(i + 1) // 1..100
	}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {1, 1}, {50, 50}, {99, 99}, {99.5, 100}, {100, 100}} {
		if got := percentileSorted(s, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentileSorted([]float64{7}, 99); got != 7 {
		t.Errorf("p99 of one value = %v", got)
	}
	if !math.IsNaN(percentileSorted(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
}

func TestSummarize(t *testing.T) {
	d := summarize([]float64{2.5, 2.01, 3.0, 2.2})
	if d.N != 4 || d.Min != 2.01 || d.Max != 3.0 || d.Median != (2.2+2.5)/2 || d.P99 != 3.0 {
		t.Errorf("summarize = %+v", d)
	}
	if e := summarize(nil); e.N != 0 || !math.IsNaN(e.Median) {
		t.Errorf("summarize(nil) = %+v", e)
	}
}

func TestCountOutside(t *testing.T) {
	xs := []float64{1.99, 1.996, 2, 2.5, 3, 3.004, 3.01}
	if got := countOutside(xs, 2, 3, 0); got != 4 {
		t.Errorf("no tolerance: %d outside, want 4", got)
	}
	if got := countOutside(xs, 2, 3, 0.005); got != 2 {
		t.Errorf("tolerance 0.005: %d outside, want 2", got)
	}
}
