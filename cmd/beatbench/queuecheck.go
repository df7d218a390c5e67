package main

import (
	"context"
	"time"
)

// queueCheck compares a queue's length at the end of a run, once every client
// is gone, with what the clients counted. Consumed counts acked (or no-ack)
// deliveries only: unacked ones go back to the queue when the consumer
// closes.
type queueCheck struct {
	Attempted int64 // messages handed to the socket, whole or not
	Confirmed int64 // basic.ack'ed by the broker
	Consumed  int64 // delivered and acked
	Length    int64 // the queue's message count at the end
}

// bounds returns the range the length must lie in. Every confirmed message
// not consumed must still be there: lo = confirmed − consumed (it is a lower
// bound even when some consumed messages were never confirmed). An
// unconfirmed message may or may not have reached the queue: hi = attempted −
// consumed.
func (c queueCheck) bounds() (lo, hi int64) {
	return c.Confirmed - c.Consumed, c.Attempted - c.Consumed
}

// lost returns how many confirmed messages are missing from the queue: the
// shortfall below lo, or 0.
func (c queueCheck) lost() int64 {
	lo, _ := c.bounds()
	return max(0, lo-c.Length)
}

// surplus returns how many more messages the queue holds than were ever
// published to it and not consumed (duplicates, another publisher), or 0.
func (c queueCheck) surplus() int64 {
	_, hi := c.bounds()
	return max(0, c.Length-hi)
}

// settledLength reads queue's message count (passive queue.declare) until two
// readings interval apart agree, at most for timeout, and returns the last
// one. A broker may still be requeueing a closed consumer's deliveries or
// enqueueing a closed publisher's last messages when the first answer comes.
func settledLength(ctx context.Context, ep endpoint, queue string, interval, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	prev := int64(-1)
	for {
		n, err := countAndGet(ctx, ep, []string{queue}, false)
		if err != nil {
			return 0, err
		}
		if n == prev || time.Now().After(deadline) {
			return n, nil
		}
		prev = n
		if err := sleepCtx(ctx, interval); err != nil {
			return n, err
		}
	}
}
