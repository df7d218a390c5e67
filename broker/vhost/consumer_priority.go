package vhost

import (
	"slices"

	"github.com/beatmq/beatmq/amqp"
)

// Consumer priorities: a consumer's x-priority argument (any integer, 0
// when absent). rabbit_queue_consumers keeps the consumers that can be
// offered a message in a priority queue: a delivery goes to the highest
// priority, round-robin among equals, and a consumer that cannot take it
// (prefetch full, its channel at its limit) leaves until it can, so a
// lower priority gets messages only while every higher one is blocked.

// consumerPriority is a consumer's x-priority (validated by
// checkConsumeArgs).
func consumerPriority(args amqp.Table) int64 {
	if v, ok := args.Get("x-priority"); ok {
		if n, ok := intValue(v); ok {
			return n
		}
	}
	return 0
}

// consumerRing is the consumers of a queue that can be offered a message:
// one round-robin ring per consumer priority, highest first. Guarded by
// Queue.mu.
type consumerRing struct {
	// levels has one entry per priority some consumer of the queue has,
	// kept while that consumer is subscribed (a consumer that blocks and
	// wakes at every message costs no allocation).
	levels []consumerLevel
	n      int // consumers in the rings
}

type consumerLevel struct {
	prio       int64
	subscribed int // consumers of the queue with this priority
	rr         ring[*consumer]
}

// find returns the index of priority p's level, or where it goes.
func (r *consumerRing) find(p int64) (int, bool) {
	return slices.BinarySearchFunc(r.levels, p, func(l consumerLevel, p int64) int {
		switch {
		case l.prio > p:
			return -1
		case l.prio < p:
			return 1
		}
		return 0
	})
}

// subscribe counts c, a new consumer of the queue, in its level.
func (r *consumerRing) subscribe(c *consumer) {
	i, found := r.find(c.priority)
	if !found {
		r.levels = slices.Insert(r.levels, i, consumerLevel{prio: c.priority})
	}
	r.levels[i].subscribed++
}

// push puts c, subscribed and not in its ring, at the back of its ring.
func (r *consumerRing) push(c *consumer) {
	i, _ := r.find(c.priority)
	r.levels[i].rr.PushBack(c)
	r.n++
}

// remove takes c, cancelled, out of its ring and its level.
func (r *consumerRing) remove(c *consumer) {
	i, found := r.find(c.priority)
	if !found {
		return
	}
	l := &r.levels[i]
	if c.inRR {
		c.inRR = false
		for k := 0; k < l.rr.Len(); k++ {
			if *l.rr.At(k) == c {
				l.rr.RemoveAt(k)
				r.n--
				break
			}
		}
	}
	if l.subscribed--; l.subscribed == 0 {
		r.levels = slices.Delete(r.levels, i, i+1)
	}
}

func (r *consumerRing) clear() {
	r.levels = nil
	r.n = 0
}

// nextActiveConsumer chooses the single active consumer that replaces one
// cancelled or gone, nil when no consumer is left. A classic queue takes
// the consumer of the highest priority, the first subscribed among equals
// (rabbit_queue_consumers:get_consumer/1, through
// rabbit_amqqueue_process:new_single_active_consumer_after_basic_cancel);
// a quorum queue the first subscribed of all
// (rabbit_fifo:activate_next_consumer/2). q.mu held.
func (q *Queue) nextActiveConsumer() *consumer {
	var next *consumer
	for _, c := range q.consumers {
		if next == nil || (!q.cfg.sacInOrder && c.priority > next.priority) {
			next = c
		}
	}
	return next
}
