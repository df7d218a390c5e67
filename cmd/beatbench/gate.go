package main

import (
	"sync/atomic"
	"time"
)

// gate bounds how many items may be outstanding (published but not yet
// consumed, or not yet confirmed). The producer acquires before sending, the
// consumer releases; a limit of 0 means no bound. One producer, any number of
// releasers.
type gate struct {
	limit   int64
	used    atomic.Int64
	waiting atomic.Bool
	wake    chan struct{}
}

func newGate(limit int64) *gate {
	return &gate{limit: limit, wake: make(chan struct{}, 1)}
}

// threshold is how much room must free up before a waiting producer is woken,
// so that it resumes with a batch rather than one item at a time.
func (g *gate) threshold() int64 { return max(1, g.limit/4) }

// acquire takes room for up to k items and returns how many it got: at least
// min(k, threshold) unless stop is closed first (then 0). It blocks while the
// gate is too full.
func (g *gate) acquire(k int64, stop <-chan struct{}) int64 {
	if g.limit <= 0 || k <= 0 {
		return k
	}
	need := min(k, g.threshold())
	for {
		used := g.used.Load()
		if free := g.limit - used; free >= need {
			n := min(k, free)
			if g.used.CompareAndSwap(used, used+n) {
				return n
			}
			continue
		}
		g.waiting.Store(true)
		if g.limit-g.used.Load() >= need {
			g.waiting.Store(false)
			continue
		}
		t := time.NewTimer(20 * time.Millisecond) // a safety net; release wakes us
		select {
		case <-g.wake:
		case <-t.C:
		case <-stop:
			t.Stop()
			return 0
		}
		t.Stop()
	}
}

// release gives back room for n items.
func (g *gate) release(n int64) {
	if g.limit <= 0 || n <= 0 {
		return
	}
	used := g.used.Add(-n)
	if g.limit-used >= g.threshold() && g.waiting.Load() && g.waiting.CompareAndSwap(true, false) {
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
}

// outstanding returns the room currently taken.
func (g *gate) outstanding() int64 { return g.used.Load() }

// confirmTracker counts publisher confirms by delivery tag (1, 2, 3, ... in
// publish order), with basic.ack's and basic.nack's multiple flag, tolerating
// confirms out of order and repeated ones.
type confirmTracker struct {
	low   uint64          // every tag <= low is confirmed
	extra map[uint64]bool // confirmed tags > low
}

// confirm records a confirm and returns how many tags it newly confirmed;
// each, when not nil, is called with every newly confirmed tag.
func (c *confirmTracker) confirm(tag uint64, multiple bool, each func(uint64)) int64 {
	if tag <= c.low {
		return 0
	}
	var n int64
	if multiple {
		for t := c.low + 1; t <= tag; t++ {
			if c.extra[t] {
				delete(c.extra, t)
			} else {
				n++
				if each != nil {
					each(t)
				}
			}
		}
		c.low = tag
	} else {
		if c.extra[tag] {
			return 0
		}
		n = 1
		if each != nil {
			each(tag)
		}
		if tag == c.low+1 {
			c.low = tag
		} else {
			if c.extra == nil {
				c.extra = map[uint64]bool{}
			}
			c.extra[tag] = true
		}
	}
	for c.extra[c.low+1] {
		delete(c.extra, c.low+1)
		c.low++
	}
	return n
}

// sendTimes remembers when each delivery tag was published (nanoseconds
// since epoch), for confirm latency: a ring indexed by tag, written by the
// publishing goroutine and read by the one that reads confirms. It must hold
// more entries than can be unconfirmed at once.
type sendTimes struct {
	mask uint64
	at   []atomic.Int64
}

// newSendTimes returns a ring for at most outstanding unconfirmed tags (0: no
// bound is known; a large ring is used, and latencies may alias past it).
func newSendTimes(outstanding int) *sendTimes {
	n := 1 << 20
	if outstanding > 0 {
		n = 1024
		for n < 2*outstanding {
			n <<= 1
		}
	}
	return &sendTimes{mask: uint64(n - 1), at: make([]atomic.Int64, n)}
}

func (s *sendTimes) set(tag uint64, at int64) { s.at[tag&s.mask].Store(at) }
func (s *sendTimes) get(tag uint64) int64     { return s.at[tag&s.mask].Load() }
