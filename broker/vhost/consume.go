package vhost

import "github.com/beatmq/beatmq/amqp"

// ConsumeSpec is a basic.consume.
type ConsumeSpec struct {
	Queue     string
	Tag       string
	NoLocal   bool
	NoAck     bool
	Exclusive bool
	Args      amqp.Table
}

// Consume handles basic.consume and returns the consumer tag (generated
// "amq.ctag-..." when spec.Tag is empty). ok, when not nil, is called with
// the tag once the consumer is registered and before any delivery to it:
// the channel sends basic.consume-ok there (unless nowait). Like the sink's
// methods, ok runs with model locks held and must not block.
//
// Errors: 404 missing queue, 405 another connection's exclusive queue, 403
// when the queue has an exclusive consumer (or consumers, for an exclusive
// consume), 530 NOT_ALLOWED for a tag already in use on this session.
//
// Consuming from amq.rabbitmq.reply-to sets up direct reply-to (replyto.go):
// it must be no-ack (406 "reply consumer cannot acknowledge") and a session
// has at most one such consumer (406 "reply consumer already set").
func (s *Session) Consume(spec ConsumeSpec, ok func(tag string)) (string, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if spec.Queue == replyToQueue {
		return s.consumeReply(spec, ok)
	}
	name, err := s.queueName(spec.Queue)
	if err != nil {
		return "", err
	}
	tag := spec.Tag
	s.mu.Lock()
	_, inUse := s.consumers[tag]
	prefetch := s.consumerPrefetch
	closed := s.closed
	s.mu.Unlock()
	if tag != "" && inUse {
		return "", amqp.NewError(amqp.NotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	if err := s.permit(Read, "queue", name); err != nil {
		return "", err
	}
	q, err := s.v.lookupQueue(s.conn, name)
	if err != nil {
		return "", err
	}
	if err := s.v.checkConsumeArgs(name, q.qtype, spec.Args); err != nil {
		return "", err
	}
	if q.cfg.quorum {
		if err := s.checkQuorumConsume(q); err != nil {
			return "", err
		}
		// rabbit_fifo does not enforce exclusive consumers.
		spec.Exclusive = false
	}
	if tag == "" {
		tag = genName("amq.ctag")
	}
	c := &consumer{tag: tag, s: s, q: q, noAck: spec.NoAck, exclusive: spec.Exclusive, prefetch: prefetch, args: spec.Args,
		priority: consumerPriority(spec.Args)}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return "", s.v.notFound("queue", name)
	}
	// rabbit_amqqueue_process: an exclusive consume is refused when the
	// queue has consumers, or has single active consumer on.
	if q.exclusiveConsumer != nil || (spec.Exclusive && (len(q.consumers) > 0 || q.cfg.sac)) {
		q.mu.Unlock()
		return "", amqp.NewError(amqp.AccessRefused, "%s in exclusive use", s.v.rs("queue", name))
	}
	if closed {
		q.mu.Unlock()
		return tag, nil
	}
	s.mu.Lock()
	s.consumers[tag] = c
	s.mu.Unlock()
	q.consumers = append(q.consumers, c)
	q.rr.subscribe(c)
	if spec.Exclusive {
		q.exclusiveConsumer = c
	}
	// rabbit_amqqueue_process: with single active consumer, a consumer
	// arriving when there is none active becomes it, whatever its priority.
	if q.cfg.sac && q.activeConsumer == nil {
		q.activeConsumer = c
	}
	q.hadConsumers = true
	q.armExpiry()
	if ok != nil {
		ok(tag)
	}
	q.wake(c)
	q.run()
	q.unlock()
	return tag, nil
}

// Cancel handles basic.cancel: no delivery for the consumer follows once it
// returns, so the channel sends basic.cancel-ok after it. An unknown tag is
// not an error (the spec says to ignore it); found reports whether it was
// known. The consumer's unacknowledged messages stay unacknowledged. The
// reply consumer's tag is looked up first, as RabbitMQ does.
func (s *Session) Cancel(tag string) (found bool) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.cancelReply(tag) {
		return true
	}
	s.mu.Lock()
	c := s.consumers[tag]
	delete(s.consumers, tag)
	s.mu.Unlock()
	if c == nil {
		return false
	}
	q := c.q
	q.mu.Lock()
	q.removeConsumer(c)
	q.unlock()
	s.v.maybeAutoDelete(q)
	return true
}

// consumerGone is a consumer whose queue was deleted. No lock held.
func (s *Session) consumerGone(c *consumer) {
	s.mu.Lock()
	known := s.consumers[c.tag] == c
	if known {
		delete(s.consumers, c.tag)
	}
	notify := known && !s.closed
	s.mu.Unlock()
	if notify {
		s.sink.ConsumerCancelled(c.tag)
	}
}

// Get handles basic.get. When a message is ready it goes to the sink as a
// Delivery with Get set (so its tag stays in order with consumer
// deliveries) and Get returns true; false means basic.get-empty.
func (s *Session) Get(queue string, noAck bool) (bool, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	name, err := s.queueName(queue)
	if err != nil {
		return false, err
	}
	if err := s.permit(Read, "queue", name); err != nil {
		return false, err
	}
	q, err := s.v.lookupQueue(s.conn, name)
	if err != nil {
		return false, err
	}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return false, s.v.notFound("queue", name)
	}
	q.armExpiry()
	q.dropExpired(0)
	e, ok := q.takeReady()
	if !ok {
		q.unlock()
		s.mu.Lock()
		s.delivered(typeOfQueue(q), cGetEmpty, 1)
		s.mu.Unlock()
		return false, nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		q.unpopReady(e)
		q.unlock()
		return false, nil
	}
	tag := s.nextTag
	s.nextTag++
	if !noAck {
		s.unacked.push(unackedRec{tag: tag, q: q, e: e})
		q.unacked++
		q.unackedBytes += e.msg.bodySize()
	}
	q.handedOut(&e, noAck)
	s.unsent++
	s.countDelivery(q, true, noAck, e.redelivered)
	s.sink.Deliver(Delivery{Message: e.msg, DeliveryTag: tag, Redelivered: e.redelivered, Get: true, MessageCount: uint32(q.readyLen()), Properties: q.deliveryProps(&e, true)})
	s.mu.Unlock()
	q.dropExpired(0)
	q.unlock()
	return true, nil
}

// Qos handles basic.qos as RabbitMQ 3.10 does: global=false sets the
// prefetch of the consumers created afterwards on this session (and lifts
// any channel-wide limit); global=true sets a limit on the session's
// unacknowledged consumer deliveries across all its consumers (0: none).
// prefetch_size other than 0 is 540 NOT_IMPLEMENTED.
func (s *Session) Qos(prefetchSize uint32, prefetchCount uint16, global bool) error {
	if prefetchSize != 0 {
		return amqp.NewError(amqp.NotImplemented, "prefetch_size!=0 (%d)", prefetchSize)
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	if global {
		s.globalLimit = int(prefetchCount)
	} else {
		s.consumerPrefetch = int(prefetchCount)
		s.globalLimit = 0
	}
	kicks := s.takeKicks()
	s.mu.Unlock()
	s.kick(kicks)
	return nil
}
