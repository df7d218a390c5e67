package vhost

import "sync"

// Sink is what the broker's channel implements to receive from the model.
// Its methods are called from any goroutine, with model locks held: they
// must not block and must not call back into this package (queue the
// frames for the connection's writer and return).
type Sink interface {
	// Deliver sends d: basic.deliver, or basic.get-ok when d.Get is set,
	// followed by d.Message's content. Calls come in delivery-tag order.
	Deliver(d Delivery)
	// ConsumerCancelled reports that the broker cancelled the consumer with
	// tag because its queue was deleted: send basic.cancel when the client
	// announced the consumer_cancel_notify capability. No delivery for that
	// consumer follows.
	ConsumerCancelled(tag string)
}

// Delivery is one message handed to a session.
type Delivery struct {
	Message *Message
	// ConsumerTag is the consumer's tag; "" for basic.get.
	ConsumerTag string
	// DeliveryTag numbers the session's deliveries from 1.
	DeliveryTag uint64
	// Redelivered is set when the message was delivered before and came back
	// to its queue.
	Redelivered bool
	// Get marks a basic.get-ok; MessageCount is then the number of messages
	// left ready in the queue.
	Get          bool
	MessageCount uint32
	// Properties, when not nil, is the property list to send instead of
	// Message.Properties: a quorum queue's x-delivery-count header added.
	Properties []byte
}

// Session is the model side of one AMQP channel: its consumers, delivery
// tags, unacknowledged deliveries, prefetch limits, transaction and the name
// of the queue it declared last.
//
// The methods the channel calls (all but Sent) must be called from one
// goroutine at a time; Sent may be called from the connection's writer at
// any time, but never from inside Sink.Deliver.
type Session struct {
	v    *VHost
	conn *Conn
	sink Sink

	// opMu serialises the channel-side operations; it is the first lock in
	// the lock order. The fields below it are only used under it.
	opMu      sync.Mutex
	r         router
	ackBuf    []unackedRec
	lastQueue string
	tx        *txState
	confirm   bool
	allowed   map[accessKey]struct{} // permissions granted (access.go)
	publisher bool                   // counted in vhostStats.publishers, or closed: never counted (again)

	// counts are the session's message counters (stats.go): the
	// publishing side's under opMu, the delivering side's under mu.
	counts sessionCounts

	// mu guards the fields below. Taken under Queue.mu.
	mu               sync.Mutex
	closed           bool
	nextTag          uint64
	unacked          unackedList
	consumers        map[string]*consumer
	consumerPrefetch int
	globalLimit      int
	globalUnacked    int
	unsent           int
	// blocked are the consumers refused a delivery because the session was
	// at a limit; they are woken when it has room again.
	blocked map[*consumer]struct{}
	// reply is the session's consumer of amq.rabbitmq.reply-to, nil when
	// none (replyto.go).
	reply *replyConsumer
}

func newSession(c *Conn, sink Sink) *Session {
	return &Session{v: c.v, conn: c, sink: sink, nextTag: 1, consumers: make(map[string]*consumer)}
}

// deliver hands e to the sink for consumer c, or reports false when the
// session cannot take it now (closed, or at its global prefetch or unsent
// limit; q is then kicked when room is made). q.mu held.
func (s *Session) deliver(q *Queue, c *consumer, e *entry) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	// rabbit_limiter:can_send/3: a channel at its global limit takes no
	// delivery, even for a no-ack consumer.
	if (s.globalLimit > 0 && s.globalUnacked >= s.globalLimit) ||
		(s.v.opts.UnsentLimit > 0 && s.unsent >= s.v.opts.UnsentLimit) {
		if s.blocked == nil {
			s.blocked = make(map[*consumer]struct{})
		}
		s.blocked[c] = struct{}{}
		s.mu.Unlock()
		return false
	}
	tag := s.nextTag
	s.nextTag++
	if !c.noAck {
		s.unacked.push(unackedRec{tag: tag, q: q, c: c, e: *e})
		s.globalUnacked++
	}
	s.unsent++
	s.countDelivery(q, false, c.noAck, e.redelivered)
	s.sink.Deliver(Delivery{Message: e.msg, ConsumerTag: c.tag, DeliveryTag: tag, Redelivered: e.redelivered, Properties: q.deliveryProps(e, false)})
	s.mu.Unlock()
	return true
}

// takeKicks returns the consumers to wake when the session has room again.
// s.mu held.
func (s *Session) takeKicks() []*consumer {
	if len(s.blocked) == 0 {
		return nil
	}
	if s.globalLimit > 0 && s.globalUnacked >= s.globalLimit {
		return nil
	}
	if s.v.opts.UnsentLimit > 0 && s.unsent >= s.v.opts.UnsentLimit {
		return nil
	}
	cs := make([]*consumer, 0, len(s.blocked))
	for c := range s.blocked {
		cs = append(cs, c)
	}
	clear(s.blocked)
	return cs
}

// kick wakes consumers taken by takeKicks. No lock held.
func (s *Session) kick(cs []*consumer) {
	for _, c := range cs {
		c.q.kick(c)
	}
}

// Sent reports that n deliveries handed to Sink.Deliver have been written,
// making room under Options.UnsentLimit. Not needed when there is no limit.
func (s *Session) Sent(n int) {
	s.mu.Lock()
	s.unsent -= n
	if s.unsent < 0 {
		s.unsent = 0
	}
	kicks := s.takeKicks()
	s.mu.Unlock()
	s.kick(kicks)
}

// Close releases the session (channel.close, or its connection gone for
// any reason): its consumers are cancelled, then every unacknowledged
// delivery goes back to its queue marked redelivered, in its original
// place; auto-delete queues left without consumers are deleted. Safe to
// call more than once.
func (s *Session) Close() {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.dropReply()
	consumers := s.consumers
	s.consumers = make(map[string]*consumer)
	recs := s.unacked.takeAll(nil)
	s.globalUnacked = 0
	s.blocked = nil
	s.mu.Unlock()
	if s.tx != nil {
		// Settlements held by an uncommitted transaction never happened:
		// those deliveries go back like the others.
		for _, a := range s.tx.acks {
			recs = append(recs, a.recs...)
		}
		s.tx = nil
		sortRecsByTag(recs)
	}

	queues := make([]*Queue, 0, len(consumers))
	for _, c := range consumers {
		q := c.q
		q.mu.Lock()
		q.removeConsumer(c)
		q.unlock()
		queues = append(queues, q)
	}
	s.requeueAll(recs, false)
	for _, q := range queues {
		s.v.maybeAutoDelete(q)
	}
	if s.publisher {
		s.v.stats.publishers.Add(-1)
	}
	s.publisher = true // a publish after the close makes no publisher
	s.flushCountsLocked()
	s.conn.forget(s)
}

// Closed reports whether Close was called.
func (s *Session) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Unacked returns the number of deliveries awaiting ack on the session.
func (s *Session) Unacked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unacked.live
}

// ConsumerCount returns the number of consumers of the session (its
// consumer of amq.rabbitmq.reply-to is not one, as in RabbitMQ).
func (s *Session) ConsumerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.consumers)
}
