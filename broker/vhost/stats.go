package vhost

import "sync/atomic"

// Message counters, as RabbitMQ 3.10.8 counts them for AMQP 0-9-1 and
// classic queues (rabbit_global_counters, called from rabbit_channel and
// rabbit_amqqueue_process). Each session counts its own, in plain fields
// under a lock its path holds anyway, so counting costs a message no
// atomic operation and no shared cache line: the delivering side under
// Session.mu, which Stats takes too; the publishing side under
// Session.opMu, which Stats cannot take (its holders take Conn.mu), so
// those counts move to atomics that Stats reads when the channel calls
// FlushCounts, once per batch of input, and when the session closes. The
// counts of a closed session are folded into its VHost's under the locks
// that Stats takes to list the sessions still open, so Stats never counts
// a session twice or misses one.

// counter indexes the message counters: first those of the publishing
// side (sessionCounts.pub), then those of the delivering side
// (sessionCounts.del).
type counter uint8

const (
	cReceived           counter = iota // basic.publish handled
	cReceivedConfirm                   // ... on a channel in confirm or tx mode
	cRouted                            // queues a message was routed to (a fanout to 2 counts 2)
	cUnroutableDropped                 // routed nowhere, not mandatory
	cUnroutableReturned                // routed nowhere, mandatory: basic.return
	cConfirmed                         // publishes acked to the publisher (Session.Confirmed)
	cGetEmpty                          // basic.get-empty
	nPubCounters
)

const (
	cAcknowledged     = nPubCounters + iota // deliveries settled by basic.ack
	cConsumeManualAck                       // deliveries to consumers that ack
	cConsumeAutoAck                         // deliveries to no-ack consumers
	cGetManualAck                           // basic.get-ok that need an ack
	cGetAutoAck                             // basic.get-ok with no-ack
	cRedelivered                            // deliveries and get-oks with redelivered set
	nCounters
)

// counts is a set of message counters, guarded by its holder's lock.
type counts [nCounters]uint64

// sessionCounts are a session's counters.
type sessionCounts struct {
	pub     [nPubCounters]atomic.Uint64      // what Stats reads of the publishing side
	pending [nPubCounters]uint64             // Session.opMu: counted, not yet in pub
	del     [nCounters - nPubCounters]uint64 // Session.mu: the delivering side, from nPubCounters
}

// delivered counts n on the delivering side; i >= nPubCounters. s.mu held.
func (s *Session) delivered(i counter, n uint64) { s.counts.del[i-nPubCounters] += n }

// count counts n on the publishing side, for the next FlushCounts. s.opMu
// held.
func (s *Session) count(i counter, n uint64) { s.counts.pending[i] += n }

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
		sum[i] += c.pub[i].Load()
	}
	for i, n := range c.del {
		sum[int(nPubCounters)+i] += n
	}
}

// stats returns the counters as MessageStats.
func (c *counts) stats() MessageStats {
	return MessageStats{
		Received: c[cReceived], ReceivedConfirm: c[cReceivedConfirm], Routed: c[cRouted],
		UnroutableDropped: c[cUnroutableDropped], UnroutableReturned: c[cUnroutableReturned],
		Confirmed: c[cConfirmed], Acknowledged: c[cAcknowledged], GetEmpty: c[cGetEmpty],
		DeliveredConsumeManualAck: c[cConsumeManualAck], DeliveredConsumeAutoAck: c[cConsumeAutoAck],
		DeliveredGetManualAck: c[cGetManualAck], DeliveredGetAutoAck: c[cGetAutoAck],
		Redelivered: c[cRedelivered],
	}
}

// add adds o to c.
func (c *counts) add(o *counts) {
	for i := range o {
		c[i] += o[i]
	}
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
	// Acknowledged counts deliveries settled by basic.ack (at tx.commit in
	// a transaction).
	Acknowledged uint64
	// GetEmpty counts basic.get answered with get-empty.
	GetEmpty uint64
	// The four kinds of delivery: to consumers (basic.deliver) or basic.get
	// (get-ok), with manual or automatic acknowledgement.
	DeliveredConsumeManualAck, DeliveredConsumeAutoAck uint64
	DeliveredGetManualAck, DeliveredGetAutoAck         uint64
	// Redelivered counts deliveries of either kind with redelivered set.
	Redelivered uint64
}

// Delivered is every delivery of the four kinds (RabbitMQ's
// messages_delivered_total).
func (m MessageStats) Delivered() uint64 {
	return m.DeliveredConsumeManualAck + m.DeliveredConsumeAutoAck + m.DeliveredGetManualAck + m.DeliveredGetAutoAck
}

// Add adds o to m.
func (m *MessageStats) Add(o MessageStats) {
	m.Received += o.Received
	m.ReceivedConfirm += o.ReceivedConfirm
	m.Routed += o.Routed
	m.UnroutableDropped += o.UnroutableDropped
	m.UnroutableReturned += o.UnroutableReturned
	m.Confirmed += o.Confirmed
	m.Acknowledged += o.Acknowledged
	m.GetEmpty += o.GetEmpty
	m.DeliveredConsumeManualAck += o.DeliveredConsumeManualAck
	m.DeliveredConsumeAutoAck += o.DeliveredConsumeAutoAck
	m.DeliveredGetManualAck += o.DeliveredGetManualAck
	m.DeliveredGetAutoAck += o.DeliveredGetAutoAck
	m.Redelivered += o.Redelivered
}

// DeadLetterReason is why a message left its queue as a dead letter.
type DeadLetterReason uint8

// The reasons, as x-death and RabbitMQ's counters name them.
const (
	DeadExpired  DeadLetterReason = iota // message TTL ran out
	DeadRejected                         // basic.reject or basic.nack without requeue
	DeadMaxlen                           // x-max-length / x-max-length-bytes overflow
	nDeadReasons
)

// DeadLetterStrategy is what became of a dead letter, as RabbitMQ's
// dead_letter_strategy label says: at_most_once when it went to the
// queue's dead-letter exchange, disabled when it was dropped (no
// dead-letter exchange, or one that does not exist).
type DeadLetterStrategy uint8

// The strategies of classic queues.
const (
	DeadDisabled DeadLetterStrategy = iota
	DeadAtMostOnce
	nDeadStrategies
)

// DeadLetterStats count dead letters by reason and strategy
// (rabbitmq_global_messages_dead_lettered_*_total).
type DeadLetterStats [nDeadReasons][nDeadStrategies]uint64

// vhostStats are a vhost's counters: those of its closed sessions, its
// queue churn, its dead letters and its publishing sessions.
type vhostStats struct {
	ended                                        counts // folded from closed sessions; VHost.connsMu
	queuesDeclared, queuesCreated, queuesDeleted atomic.Uint64
	dead                                         [nDeadReasons][nDeadStrategies]atomic.Uint64
	publishers                                   atomic.Int64
}

// deadLettered counts n dead letters.
func (v *VHost) deadLettered(r DeadLetterReason, s DeadLetterStrategy, n uint64) {
	v.stats.dead[r][s].Add(n)
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
	// DeadLettered counts dead letters by reason and strategy.
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
	for r := range st.DeadLettered {
		for s := range st.DeadLettered[r] {
			st.DeadLettered[r][s] = v.stats.dead[r][s].Load()
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

// countDelivery counts a delivery handed to the sink
// (rabbit_channel:record_sent/6). s.mu held.
func (s *Session) countDelivery(get, noAck, redelivered bool) {
	i := cConsumeManualAck
	switch {
	case get && noAck:
		i = cGetAutoAck
	case get:
		i = cGetManualAck
	case noAck:
		i = cConsumeAutoAck
	}
	s.delivered(i, 1)
	if redelivered {
		s.delivered(cRedelivered, 1)
	}
}

// countAcked counts deliveries settled by basic.ack
// (rabbit_channel:incr_queue_stats/3). s.mu held.
func (s *Session) countAcked(n int) { s.delivered(cAcknowledged, uint64(n)) }

// foldInto adds the session's counters to sum, for good: the session is
// closed. s.mu not held.
func (s *Session) foldInto(sum *counts) {
	s.mu.Lock()
	s.counts.addTo(sum)
	s.mu.Unlock()
}
