package main

import (
	"sync"
	"time"
)

// blockTracker records a publisher's connection.blocked and
// connection.unblocked (RabbitMQ's resource alarms): how often and for how
// long the broker said it was blocked. The zero value is ready; methods on a
// nil tracker do nothing.
type blockTracker struct {
	mu     sync.Mutex
	now    func() time.Time // time.Now unless a test sets it
	since  time.Time        // when the current block began; zero when unblocked
	total  time.Duration    // blocked time of the blocks that ended
	count  int
	reason string // of the last connection.blocked
}

// set records connection.blocked (blocked true, with the broker's reason) or
// connection.unblocked. A repeated blocked or unblocked changes nothing.
func (b *blockTracker) set(blocked bool, reason string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock()
	switch {
	case blocked && b.since.IsZero():
		b.since = now
		b.count++
		b.reason = reason
	case !blocked && !b.since.IsZero():
		b.total += now.Sub(b.since)
		b.since = time.Time{}
	}
}

func (b *blockTracker) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
}

// blockState is a snapshot of a blockTracker.
type blockState struct {
	Blocked bool          // blocked now
	For     time.Duration // how long the current block has lasted
	Total   time.Duration // all blocked time, the current block included
	Count   int           // connection.blocked received
	Reason  string        // of the last connection.blocked
}

// state returns the tracker's figures as of now.
func (b *blockTracker) state() blockState {
	if b == nil {
		return blockState{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := blockState{Total: b.total, Count: b.count, Reason: b.reason}
	if !b.since.IsZero() {
		s.Blocked = true
		s.For = b.clock().Sub(b.since)
		s.Total += s.For
	}
	return s
}
