package vhost

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames/erlterm"
)

// Quorum queues (x-queue-type quorum) are served by the classic queue's
// machinery, on one node, with what RabbitMQ 3.10.8's rabbit_quorum_queue
// and rabbit_fifo do differently and a client can see:
//
//   - declaration: durable, not exclusive, not auto-delete, never
//     server-named, their own set of arguments (queue_type.go);
//   - every requeue of a message (basic.nack or basic.reject with requeue,
//     basic.recover, its channel or connection gone) counts: from then on
//     each delivery carries the count as an x-delivery-count header, and
//     basic.get always does (0 before any requeue);
//   - x-delivery-limit: a message requeued more often than the limit is
//     dead-lettered (reason delivery_limit) or dropped;
//   - without x-delivery-limit, a message the client requeues goes to the
//     back of the queue; with it, and when its channel goes, back to its
//     place (rabbit_fifo's requeue and return);
//   - exclusive consumers are not enforced, consuming with a global prefetch
//     (basic.qos global) is 540, and queue.delete with if-unused or
//     if-empty is 540.

const reasonDeliveryLimit = "delivery_limit"

// checkQuorumArgs refuses the one quorum queue setting beatmq cannot honour:
// at-least-once dead-lettering (x-dead-letter-strategy at-least-once with
// x-overflow reject-publish and a dead-letter exchange), where RabbitMQ
// keeps a dead-lettered message in its queue until the target queues have
// confirmed it. Arguments already validated.
func (v *VHost) checkQuorumArgs(name string, args amqp.Table) error {
	_, dlx := args.Get("x-dead-letter-exchange")
	strategy, _ := args.Get("x-dead-letter-strategy")
	overflow, _ := args.Get("x-overflow")
	if dlx && strategy == "at-least-once" && overflow == "reject-publish" {
		return precondition("invalid arg 'x-dead-letter-strategy' for %s: at-least-once dead-lettering is not supported by beatmq", v.rs("queue", name))
	}
	return nil
}

// parseQuorumConfig reads a quorum queue's own settings into c
// (rabbit_quorum_queue:ra_machine_config/1): reject-publish-dlx is
// drop-head for quorum queues, and x-delivery-limit is a limit when it is
// a number. rabbit_fifo compares the count with the value as Erlang orders
// terms, so a float counts by its value, a timestamp by its seconds, and a
// value of any other type (a string, a boolean) never stops a message.
func parseQuorumConfig(c *queueConfig, args amqp.Table) {
	if c.overflow == overflowRejectPublishDLX {
		c.overflow = overflowDropHead
	}
	v, ok := args.Get("x-delivery-limit")
	if !ok {
		return
	}
	c.limitArg = true
	if n, ok := intValue(v); ok {
		c.deliveryLimit, c.hasLimit = n, true
		return
	}
	switch x := v.(type) {
	case float32:
		c.deliveryLimit, c.hasLimit = floatLimit(float64(x))
	case float64:
		c.deliveryLimit, c.hasLimit = floatLimit(x)
	case time.Time:
		c.deliveryLimit, c.hasLimit = x.Unix(), true
	}
}

// floatLimit is the integer limit that stops a message where a float
// limit f does: a count n exceeds f exactly when it exceeds floor(f).
func floatLimit(f float64) (int64, bool) {
	switch {
	case math.IsNaN(f) || f >= math.MaxInt64:
		return 0, false
	case f < math.MinInt64:
		return math.MinInt64, true
	}
	return int64(math.Floor(f)), true
}

// logQuorumFallbacks logs the warnings RabbitMQ logs when it starts a
// quorum queue whose overflow or dead-letter settings it replaces
// (rabbit_quorum_queue:overflow/3 and dlh/5).
func (v *VHost) logQuorumFallbacks(q *Queue) {
	args := q.args
	rs := v.rs("queue", q.name)
	overflow, _ := args.Get("x-overflow")
	if overflow == "reject-publish-dlx" {
		v.log.Warn(fmt.Sprintf("Invalid overflow strategy %s for quorum queue: %s", erlterm.Binary([]byte("reject-publish-dlx")), rs))
	}
	strategy, ok := args.Get("x-dead-letter-strategy")
	s, _ := strategy.(string)
	switch {
	case !ok:
	case !q.cfg.hasDLX:
		v.log.Warn(fmt.Sprintf("Disabling dead-lettering for %s despite configured dead-letter-strategy '%s' because dead-letter-exchange is not configured.", rs, s))
	case s == "at-least-once" && overflow != "reject-publish":
		v.log.Warn(fmt.Sprintf("Falling back to dead-letter-strategy at-most-once for %s because configured dead-letter-strategy at-least-once is incompatible with effective overflow strategy drop-head. To enable dead-letter-strategy at-least-once, set overflow strategy to reject-publish.", rs))
	}
}

// returnQuorum counts a return of each of recs to quorum queue q
// (rabbit_fifo:return_one/6 and its requeue): a message past the delivery
// limit is dead-lettered or dropped; one the client requeued (byClient)
// on a queue without x-delivery-limit goes to the back of the queue. It
// returns the records left to go back to their places. q.mu held.
func (q *Queue) returnQuorum(recs []unackedRec, byClient bool) []unackedRec {
	n := 0
	for i := range recs {
		e := &recs[i].e
		e.deliveries++
		e.redelivered = true
		if q.cfg.hasLimit && int64(e.deliveries) > q.cfg.deliveryLimit {
			q.gone(e)
			q.deadLetter(e.msg, reasonDeliveryLimit)
			continue
		}
		if byClient && !q.cfg.limitArg {
			e.seq = q.nextSeq
			q.nextSeq++
			q.pushReady(*e)
			continue
		}
		recs[n] = recs[i]
		n++
	}
	clear(recs[n:])
	return recs[:n]
}

// deliveryProps is the property list a delivery of e from q sends when it
// is not the message's own: a quorum queue adds the x-delivery-count header
// to a message requeued before, and to every basic.get
// (rabbit_fifo_client:add_delivery_count_header/2, which sorts the headers
// as rabbit_misc:set_table_value/4 does). nil means msg.Properties.
func (q *Queue) deliveryProps(e *entry, get bool) []byte {
	if !q.cfg.quorum || (e.deliveries == 0 && !get) {
		return nil
	}
	p, err := amqp.DecodeProperties(e.msg.Properties)
	if err != nil {
		return nil // checked when it was published
	}
	p.Headers = setField(slices.Clone(p.Headers), "x-delivery-count", int64(e.deliveries))
	p.Flags |= amqp.FlagHeaders
	return amqp.AppendProperties(nil, &p)
}

// checkQuorumConsume is rabbit_quorum_queue:consume/3's refusal of a
// channel with a global prefetch limit: 540 "queue 'q' in vhost '/' does
// not support global qos". q.mu not needed; s.mu not held.
func (s *Session) checkQuorumConsume(q *Queue) error {
	s.mu.Lock()
	global := s.globalLimit > 0
	s.mu.Unlock()
	if global {
		return amqp.NewError(amqp.NotImplemented, "%s does not support global qos", s.v.rs("queue", q.name))
	}
	return nil
}

// checkQuorumDelete is rabbit_quorum_queue:delete/4's refusal of if-unused
// and if-empty.
func (v *VHost) checkQuorumDelete(name string, ifUnused, ifEmpty bool) error {
	flag := ""
	switch {
	case ifUnused:
		flag = "if-unused"
	case ifEmpty:
		flag = "if-empty"
	default:
		return nil
	}
	return amqp.NewError(amqp.NotImplemented, "cannot delete %s. queue.delete operations with %s flag set are not supported by quorum queues", v.rs("queue", name), flag)
}
