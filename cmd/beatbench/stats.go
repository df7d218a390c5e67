package main

import (
	"math"
	"slices"
)

// median returns the median of xs (the mean of the two middle values when len(xs)
// is even), or NaN when xs is empty. xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentileSorted returns the nearest-rank p-th percentile (0 < p <= 100) of an
// ascending slice: the smallest value with at least p % of the values at or below
// it. p <= 0 gives the minimum. NaN when s is empty.
func percentileSorted(s []float64, p float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	if p <= 0 {
		return s[0]
	}
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}

// distribution summarises a set of samples.
type distribution struct {
	N      int
	Min    float64
	Median float64
	P99    float64
	Max    float64
}

// summarize sorts a copy of xs and returns its distribution; the zero value (with
// NaN statistics) when xs is empty.
func summarize(xs []float64) distribution {
	if len(xs) == 0 {
		nan := math.NaN()
		return distribution{Min: nan, Median: nan, P99: nan, Max: nan}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return distribution{
		N:      len(s),
		Min:    s[0],
		Median: median(s),
		P99:    percentileSorted(s, 99),
		Max:    s[len(s)-1],
	}
}
