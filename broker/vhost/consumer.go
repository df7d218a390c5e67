package vhost

import (
	"slices"

	"github.com/beatmq/beatmq/amqp"
)

// consumer is one basic.consume. Its counters and flags are guarded by the
// queue's mu.
type consumer struct {
	tag       string
	s         *Session
	q         *Queue
	noAck     bool
	exclusive bool
	// prefetch is the per-consumer limit (basic.qos global=false in force
	// when it was created), 0 for none.
	prefetch int
	args     amqp.Table
	// priority is x-priority (0 when absent): messages go to the consumers
	// of the highest priority that can take them.
	priority int64

	unacked int
	inRR    bool // in the queue's round-robin ring
	gone    bool // cancelled or its queue deleted
}

// full reports whether c is at its own prefetch limit.
func (c *consumer) full() bool {
	return !c.noAck && c.prefetch > 0 && c.unacked >= c.prefetch
}

// deliverToConsumer hands e to the next consumer that can take it: of the
// highest priority, in round-robin order among equals
// (rabbit_queue_consumers:deliver/5). Consumers that cannot (at their
// prefetch limit, or their session at its limit) leave the ring until an
// ack or a kick brings them back, as rabbit_queue_consumers does with
// blocked consumers, so a lower priority is offered a message only when
// every consumer above it is blocked. q.mu held.
func (q *Queue) deliverToConsumer(e *entry) bool {
	for i := 0; q.rr.n > 0 && i < len(q.rr.levels); i++ {
		lv := &q.rr.levels[i]
		for lv.rr.Len() > 0 {
			c := *lv.rr.Front()
			if c.full() || !c.s.deliver(q, c, e) {
				lv.rr.PopFront()
				q.rr.n--
				c.inRR = false
				continue
			}
			if lv.rr.Len() > 1 {
				lv.rr.PopFront()
				lv.rr.PushBack(c)
			}
			if !c.noAck {
				c.unacked++
				q.unacked++
				q.unackedBytes += e.msg.bodySize()
			}
			q.handedOut(e, c.noAck)
			return true
		}
	}
	return false
}

// run delivers ready messages while a consumer can take them, dropping
// expired ones on the way (rabbit_amqqueue_process:run_message_queue/2).
// q.mu held.
func (q *Queue) run() {
	var now int64
	for q.rr.n > 0 {
		e := q.headReady()
		if e == nil {
			break
		}
		if e.expires != 0 {
			if now == 0 {
				now = q.v.now()
			}
			if e.expires <= now {
				q.dropHead(reasonExpired)
				continue
			}
		}
		if !q.deliverToConsumer(e) {
			break
		}
		q.popReady()
	}
	q.dropExpired(now)
}

// wake puts c back into the ring if it left it. With single active
// consumer only the active one is ever in the ring. q.mu held.
func (q *Queue) wake(c *consumer) {
	if q.cfg.sac && c != q.activeConsumer {
		return
	}
	if !c.inRR && !c.gone {
		c.inRR = true
		q.rr.push(c)
	}
}

// removeConsumer takes c out of q. q.mu held.
func (q *Queue) removeConsumer(c *consumer) {
	if c.gone {
		return
	}
	c.gone = true
	if i := slices.Index(q.consumers, c); i >= 0 {
		q.consumers = slices.Delete(q.consumers, i, i+1)
	}
	q.rr.remove(c)
	if q.exclusiveConsumer == c {
		q.exclusiveConsumer = nil
	}
	if q.activeConsumer == c {
		q.activeConsumer = q.nextActiveConsumer()
		if q.activeConsumer != nil {
			q.wake(q.activeConsumer)
		}
	}
	if len(q.consumers) == 0 {
		q.armExpiry()
	}
}

// kick brings c back into q's ring and delivers: its session made room
// (an ack under a global prefetch, Sent, a qos change). No lock held.
func (q *Queue) kick(c *consumer) {
	q.mu.Lock()
	if !q.deleted {
		q.wake(c)
		q.run()
	}
	q.unlock()
}

// checkConsumeArgs is rabbit_amqqueue:check_consume_arguments/3: the
// arguments of the queue's type are validated, those of other types
// refused.
func (v *VHost) checkConsumeArgs(queue string, t *queueType, args amqp.Table) error {
	invalid := func(key, reason string) error {
		return precondition("invalid arg '%s' for %s: %s", key, v.rs("queue", queue), reason)
	}
	if p, ok := args.Get("x-priority"); ok && slices.Contains(t.consumerArgs, "x-priority") {
		if e := checkInt(p); e != "" {
			return invalid("x-priority", e)
		}
	}
	if p, ok := args.Get("x-cancel-on-ha-failover"); ok && slices.Contains(t.consumerArgs, "x-cancel-on-ha-failover") {
		if _, ok := p.(bool); !ok {
			return invalid("x-cancel-on-ha-failover", unacceptable(p))
		}
	}
	return v.checkTypeKeys(queue, t, args, true)
}
