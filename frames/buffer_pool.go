package frames

import (
	"math/bits"
	"sync"
)

// Buffers of 4 KiB to 256 KiB are shared between connections through size-classed
// pools, so that a Reader or Writer can drop its buffer whenever it has nothing
// buffered (an idle connection then holds none) without making a busy one allocate
// again and again. Other sizes are allocated exactly and left to the collector.
const (
	minPoolShift = 12 // 4 KiB
	maxPoolShift = 18 // 256 KiB
)

var bufferPools [maxPoolShift - minPoolShift + 1]sync.Pool

// getBuffer returns a buffer whose length is at least n, rounded up to a pooled size
// class unless that size would exceed limit (limit 0: no limit).
func getBuffer(n, limit int) *[]byte {
	n = max(n, 1)
	shift := max(bits.Len(uint(n-1)), minPoolShift)
	if shift > maxPoolShift || (limit > 0 && 1<<shift > limit) {
		b := make([]byte, n)
		return &b
	}
	if p, ok := bufferPools[shift-minPoolShift].Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 1<<shift)
	return &b
}

// putBuffer hands p back for reuse if its size is a pool's size class.
func putBuffer(p *[]byte) {
	n := len(*p)
	if n&(n-1) != 0 || n < 1<<minPoolShift || n > 1<<maxPoolShift {
		return
	}
	bufferPools[bits.Len(uint(n))-1-minPoolShift].Put(p)
}
