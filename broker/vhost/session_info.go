package vhost

import (
	"sort"

	"github.com/beatmq/beatmq/amqp"
)

// SessionInfo describes a session as the management API lists a channel.
type SessionInfo struct {
	// PrefetchCount is the prefetch given to the session's new consumers
	// (basic.qos global=false); GlobalPrefetchCount its limit on all its
	// consumers' unacknowledged deliveries (global=true); 0 is none.
	PrefetchCount, GlobalPrefetchCount int
	// Unacked counts the deliveries awaiting acknowledgement.
	Unacked int
	// Confirm and Transactional tell whether confirm.select or tx.select
	// was received.
	Confirm, Transactional bool
	// Uncommitted and AcksUncommitted count the publishes and the
	// settlements held by the open transaction.
	Uncommitted, AcksUncommitted int
	// Consumers are the session's consumers, by tag.
	Consumers []ConsumerInfo
	// Stats are the session's message counters; the publishing side's
	// as of the channel's last FlushCounts.
	Stats MessageStats
}

// ConsumerInfo describes one consumer of a session.
type ConsumerInfo struct {
	Tag, Queue string
	// AckRequired is false for a no-ack consumer.
	AckRequired bool
	Exclusive   bool
	// Prefetch is the consumer's limit, 0 for none.
	Prefetch  int
	Arguments amqp.Table
}

// Info describes the session. It waits for an operation of the channel in
// progress to end.
func (s *Session) Info() SessionInfo {
	s.opMu.Lock()
	in := SessionInfo{Confirm: s.confirm, Transactional: s.tx != nil}
	if s.tx != nil {
		in.Uncommitted = len(s.tx.pubs)
		for _, a := range s.tx.acks {
			in.AcksUncommitted += len(a.recs)
		}
	}
	s.mu.Lock()
	s.opMu.Unlock()
	in.PrefetchCount, in.GlobalPrefetchCount = s.consumerPrefetch, s.globalLimit
	in.Unacked = s.unacked.live
	for _, c := range s.consumers {
		// These fields are fixed when the consumer is made.
		in.Consumers = append(in.Consumers, ConsumerInfo{Tag: c.tag, Queue: c.q.name, AckRequired: !c.noAck,
			Exclusive: c.exclusive, Prefetch: c.prefetch, Arguments: c.args})
	}
	var sum counts
	s.counts.addTo(&sum)
	s.mu.Unlock()
	in.Stats = sum.stats()
	sort.Slice(in.Consumers, func(i, j int) bool { return in.Consumers[i].Tag < in.Consumers[j].Tag })
	return in
}
