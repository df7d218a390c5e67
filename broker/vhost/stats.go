package vhost

import "sync/atomic"

// Message counters, as RabbitMQ 3.10.8 counts them for AMQP 0-9-1, by
// queue type for what happens in queues (rabbit_global_counters, called
// from rabbit_channel and rabbit_amqqueue_process). Each session counts
// its own, in plain fields under a lock its path holds anyway, so counting
// costs a message no atomic operation and no shared cache line: the
// delivering side under Session.mu, which Stats takes too; the publishing
// side under Session.opMu, which Stats cannot take (its holders take
// Conn.mu), so those counts move to atomics that Stats reads when the
// channel calls FlushCounts, once per batch of input, and when the session
// closes. The counts of a closed session are folded into its VHost's under
// the locks that Stats takes to list the sessions still open, so Stats
// never counts a session twice or misses one.

// QueueType tells the counters of what happens in queues apart by the
// queue's type, as RabbitMQ's queue_type label does (streams are refused).
type QueueType uint8

// The queue types.
const (
	ClassicQueue  QueueType = iota // x-queue-type classic, the default
	QuorumQueue                    // x-queue-type quorum
	NumQueueTypes                  // how many
)

// typeOfQueue is q's QueueType.
func typeOfQueue(q *Queue) QueueType {
	if q.cfg.quorum {
		return QuorumQueue
	}
	return ClassicQueue
}

// pubCounter indexes the publishing side's counters (per protocol).
type pubCounter uint8

const (
	cReceived           pubCounter = iota // basic.publish handled
	cReceivedConfirm                      // ... on a channel in confirm or tx mode
	cRouted                               // queues a message was routed to (a fanout to 2 counts 2)
	cUnroutableDropped                    // routed nowhere, not mandatory
	cUnroutableReturned                   // routed nowhere, mandatory: basic.return
	cConfirmed                            // publishes acked to the publisher (Session.Confirmed)
	nPubCounters
)

// delCounter indexes the delivering side's counters (per queue type).
type delCounter uint8

const (
	cConsumeManualAck delCounter = iota // deliveries to consumers that ack
	cConsumeAutoAck                     // deliveries to no-ack consumers
	cGetManualAck                       // basic.get-ok that need an ack
	cGetAutoAck                         // basic.get-ok with no-ack
	cRedelivered                        // deliveries and get-oks with redelivered set
	cAcknowledged                       // deliveries settled by basic.ack
	cGetEmpty                           // basic.get-empty
	nDelCounters
)

// counts is a set of message counters, guarded by its holder's lock.
type counts struct {
	pub [nPubCounters]uint64
	del [NumQueueTypes][nDelCounters]uint64
}

// sessionCounts are a session's counters.
type sessionCounts struct {
	pub     [nPubCounters]atomic.Uint64         // what Stats reads of the publishing side
	pending [nPubCounters]uint64                // Session.opMu: counted, not yet in pub
	del     [NumQueueTypes][nDelCounters]uint64 // Session.mu: the delivering side
}

// count counts n on the publishing side, for the next FlushCounts. s.opMu
// held.
func (s *Session) count(i pubCounter, n uint64) { s.counts.pending[i] += n }

// delivered counts n on the delivering side, for a queue of type t. s.mu
// held.
func (s *Session) delivered(t QueueType, i delCounter, n uint64) { s.counts.del[t][i] += n }

// FlushCounts makes the publishing side's counts so far visible to Stats.
// The channel calls it when it has handled a batch of input (before it
// waits for more); Close calls it too.
func (s *Session) FlushCounts() {
	s.opMu.Lock()
	s.flushCountsLocked()
	s.opMu.Unlock()
}

// flushCountsLocked is FlushCounts with s.opMu held.
func (s *Session) flushCountsLocked() {
	c := &s.counts
	for i, n := range c.pending {
		if n != 0 {
			c.pub[i].Add(n)
			c.pending[i] = 0
		}
	}
}

// addTo adds a session's counters to sum. s.mu held.
func (c *sessionCounts) addTo(sum *counts) {
	for i := range c.pub {
		sum.pub[i] += c.pub[i].Load()
	}
	for t := range c.del {
		for i, n := range c.del[t] {
			sum.del[t][i] += n
		}
	}
}

// add adds o to c.
func (c *counts) add(o *counts) {
	for i := range o.pub {
		c.pub[i] += o.pub[i]
	}
	for t := range o.del {
		for i, n := range o.del[t] {
			c.del[t][i] += n
		}
	}
}

// stats returns the counters as MessageStats.
func (c *counts) stats() MessageStats {
	p := &c.pub
	m := MessageStats{
		Received: p[cReceived], ReceivedConfirm: p[cReceivedConfirm], Routed: p[cRouted],
		UnroutableDropped: p[cUnroutableDropped], UnroutableReturned: p[cUnroutableReturned],
		Confirmed: p[cConfirmed],
	}
	for t := range c.del {
		d := &c.del[t]
		m.ByQueueType[t] = QueueMessageStats{
			DeliveredConsumeManualAck: d[cConsumeManualAck], DeliveredConsumeAutoAck: d[cConsumeAutoAck],
			DeliveredGetManualAck: d[cGetManualAck], DeliveredGetAutoAck: d[cGetAutoAck],
			Redelivered: d[cRedelivered], Acknowledged: d[cAcknowledged], GetEmpty: d[cGetEmpty],
		}
	}
	return m
}

// MessageStats are message counters, named after RabbitMQ's
// rabbitmq_global_messages_*_total.
type MessageStats struct {
	// Received counts basic.publish methods handled (a missing exchange
	// included); ReceivedConfirm those on a channel in confirm or tx mode.
	Received, ReceivedConfirm uint64
	// Routed counts the queues messages were routed to: a message routed to
	// two queues counts 2. A transaction's messages count at tx.commit.
	Routed uint64
	// UnroutableDropped and UnroutableReturned count messages routed to no
	// queue, without and with mandatory (basic.return).
	UnroutableDropped, UnroutableReturned uint64
	// Confirmed counts publishes acknowledged to publishers (confirm mode).
	Confirmed uint64
	// ByQueueType counts what happens in queues, by queue type.
	ByQueueType [NumQueueTypes]QueueMessageStats
}

// QueueMessageStats count what happens in the queues of one type.
type QueueMessageStats struct {
	// The four kinds of delivery: to consumers (basic.deliver) or basic.get
	// (get-ok), with manual or automatic acknowledgement.
	DeliveredConsumeManualAck, DeliveredConsumeAutoAck uint64
	DeliveredGetManualAck, DeliveredGetAutoAck         uint64
	// Redelivered counts deliveries of either kind with redelivered set.
	Redelivered uint64
	// Acknowledged counts deliveries settled by basic.ack (at tx.commit in
	// a transaction).
	Acknowledged uint64
	// GetEmpty counts basic.get answered with get-empty.
	GetEmpty uint64
}

// Delivered is every delivery of the four kinds (RabbitMQ's
// messages_delivered_total).
func (q QueueMessageStats) Delivered() uint64 {
	return q.DeliveredConsumeManualAck + q.DeliveredConsumeAutoAck + q.DeliveredGetManualAck + q.DeliveredGetAutoAck
}

// Add adds o to m.
func (m *MessageStats) Add(o MessageStats) {
	m.Received += o.Received
	m.ReceivedConfirm += o.ReceivedConfirm
	m.Routed += o.Routed
	m.UnroutableDropped += o.UnroutableDropped
	m.UnroutableReturned += o.UnroutableReturned
	m.Confirmed += o.Confirmed
	for t := range m.ByQueueType {
		q, p := &m.ByQueueType[t], &o.ByQueueType[t]
		q.DeliveredConsumeManualAck += p.DeliveredConsumeManualAck
		q.DeliveredConsumeAutoAck += p.DeliveredConsumeAutoAck
		q.DeliveredGetManualAck += p.DeliveredGetManualAck
		q.DeliveredGetAutoAck += p.DeliveredGetAutoAck
		q.Redelivered += p.Redelivered
		q.Acknowledged += p.Acknowledged
		q.GetEmpty += p.GetEmpty
	}
}

// DeadLetterReason is why a message left its queue as a dead letter.
type DeadLetterReason uint8

// The reasons, as x-death and RabbitMQ's counters name them.
const (
	DeadExpired       DeadLetterReason = iota // message TTL ran out
	DeadRejected                              // basic.reject or basic.nack without requeue
	DeadMaxlen                                // x-max-length / x-max-length-bytes overflow
	DeadDeliveryLimit                         // requeued past x-delivery-limit (quorum queues)
	NumDeadReasons
)

// DeadLetterStrategy is what became of a dead letter, as RabbitMQ's
// dead_letter_strategy label says: at_most_once when it went to the
// queue's dead-letter exchange, disabled when it was dropped (no
// dead-letter exchange, or one that does not exist).
type DeadLetterStrategy uint8

// The strategies beatmq has (not a quorum queue's at-least-once, which it
// refuses).
const (
	DeadDisabled DeadLetterStrategy = iota
	DeadAtMostOnce
	NumDeadStrategies
)

// DeadLetterStats count dead letters by queue type, reason and strategy
// (rabbitmq_global_messages_dead_lettered_*_total).
type DeadLetterStats [NumQueueTypes][NumDeadReasons][NumDeadStrategies]uint64

// vhostStats are a vhost's counters: those of its closed sessions, its
// queue churn, its dead letters and its publishing sessions.
type vhostStats struct {
	ended                                        counts // folded from closed sessions; VHost.connsMu
	queuesDeclared, queuesCreated, queuesDeleted atomic.Uint64
	dead                                         [NumQueueTypes][NumDeadReasons][NumDeadStrategies]atomic.Uint64
	publishers                                   atomic.Int64
}

// deadLettered counts a dead letter of q.
func (v *VHost) deadLettered(q *Queue, r DeadLetterReason, s DeadLetterStrategy) {
	v.stats.dead[typeOfQueue(q)][r][s].Add(1)
}

// Stats is a snapshot of a vhost's counters.
type Stats struct {
	// Messages sums the message counters of every session the vhost has
	// had, closed ones included.
	Messages MessageStats
	// QueuesDeclared counts queue.declare methods that were not passive
	// (an existing queue included); QueuesCreated the queues they created
	// (not those recovered at startup); QueuesDeleted the queues deleted
	// for any reason (queue.delete, auto-delete, exclusive owner gone,
	// x-expires).
	QueuesDeclared, QueuesCreated, QueuesDeleted uint64
	// DeadLettered counts dead letters by queue type, reason and strategy.
	DeadLettered DeadLetterStats
	// Publishers is the number of open sessions that have published.
	Publishers int
}

// Stats returns the vhost's counters. It takes each open connection's and
// session's lock in turn, briefly: call it for metrics, not per message.
func (v *VHost) Stats() Stats {
	var st Stats
	var sum counts
	v.connsMu.Lock()
	sum.add(&v.stats.ended)
	for c := range v.conns {
		c.mu.Lock()
		for s := range c.sessions {
			s.mu.Lock()
			s.counts.addTo(&sum)
			s.mu.Unlock()
		}
		c.mu.Unlock()
	}
	v.connsMu.Unlock()
	st.Messages = sum.stats()
	st.QueuesDeclared = v.stats.queuesDeclared.Load()
	st.QueuesCreated = v.stats.queuesCreated.Load()
	st.QueuesDeleted = v.stats.queuesDeleted.Load()
	for t := range st.DeadLettered {
		for r := range st.DeadLettered[t] {
			for s := range st.DeadLettered[t][r] {
				st.DeadLettered[t][r][s] = v.stats.dead[t][r][s].Load()
			}
		}
	}
	st.Publishers = int(max(v.stats.publishers.Load(), 0))
	return st
}

// Confirmed counts n publishes acknowledged to the publisher (basic.ack
// in confirm mode), at once. The channel calls it when it sends the ack
// (once for a run of confirms); any goroutine.
func (s *Session) Confirmed(n int) {
	if n > 0 {
		s.counts.pub[cConfirmed].Add(uint64(n))
	}
}

// countPublish counts a basic.publish and, on the first, makes the
// session a publisher (rabbit_channel's messages_received and
// maybe_increase_global_publishers). s.opMu held.
func (s *Session) countPublish() {
	s.count(cReceived, 1)
	if s.confirm || s.tx != nil {
		s.count(cReceivedConfirm, 1)
	}
	if !s.publisher {
		s.publisher = true
		s.v.stats.publishers.Add(1)
	}
}

// countRouted counts where a message went: to n queues, or nowhere
// (rabbit_channel:deliver_to_queues/2, process_routing_mandatory/4).
// s.opMu held.
func (s *Session) countRouted(n int, mandatory bool) {
	switch {
	case n > 0:
		s.count(cRouted, uint64(n))
	case mandatory:
		s.count(cUnroutableReturned, 1)
	default:
		s.count(cUnroutableDropped, 1)
	}
}

// countDelivery counts a delivery from q handed to the sink
// (rabbit_channel:record_sent/6). s.mu held.
func (s *Session) countDelivery(q *Queue, get, noAck, redelivered bool) {
	i := cConsumeManualAck
	switch {
	case get && noAck:
		i = cGetAutoAck
	case get:
		i = cGetManualAck
	case noAck:
		i = cConsumeAutoAck
	}
	t := typeOfQueue(q)
	s.delivered(t, i, 1)
	if redelivered {
		s.delivered(t, cRedelivered, 1)
	}
}

// countAcked counts deliveries settled by basic.ack
// (rabbit_channel:incr_queue_stats/3). s.mu held.
func (s *Session) countAcked(recs []unackedRec) {
	for i := range recs {
		s.delivered(typeOfQueue(recs[i].q), cAcknowledged, 1)
	}
}

// foldInto adds the session's counters to sum, for good: the session is
// closed. s.mu not held.
func (s *Session) foldInto(sum *counts) {
	s.mu.Lock()
	s.counts.addTo(sum)
	s.mu.Unlock()
}
