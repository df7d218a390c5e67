package main

import (
	"math/bits"
	"time"
)

// histSubBits sets the histogram's precision: values below 2^histSubBits are
// exact, larger ones fall in buckets 1/2^(histSubBits-1) of their magnitude wide
// (about 1.6 %).
const histSubBits = 7

const (
	histHalf    = 1 << (histSubBits - 1)
	histBuckets = (64-histSubBits)*histHalf + 2*histHalf
)

// histogram is a fixed-size log-linear histogram of non-negative durations
// (nanoseconds), cheap enough to record every message of a throughput run. Not safe
// for concurrent use.
type histogram struct {
	counts [histBuckets]uint64
	total  uint64
}

func histIndex(v uint64) int {
	if v < 2*histHalf {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits
	return e*histHalf + int(v>>uint(e))
}

// histBounds returns the smallest and largest value that fall in bucket i.
func histBounds(i int) (lo, hi uint64) {
	if i < 2*histHalf {
		return uint64(i), uint64(i)
	}
	e := uint(i/histHalf - 1)
	m := uint64(i%histHalf + histHalf)
	return m << e, (m+1)<<e - 1
}

// record adds one duration; negative durations count as zero.
func (h *histogram) record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[histIndex(v)]++
	h.total++
}

// count returns how many values were recorded.
func (h *histogram) count() uint64 { return h.total }

// quantile returns the value at quantile q (0..1, nearest rank) as the midpoint of
// its bucket; 0 when nothing was recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q * float64(h.total))
	if float64(rank) < q*float64(h.total) {
		rank++
	}
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			lo, hi := histBounds(i)
			return time.Duration(lo + (hi-lo)/2)
		}
	}
	lo, hi := histBounds(histBuckets - 1)
	return time.Duration(lo + (hi-lo)/2)
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}
