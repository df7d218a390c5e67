package vhost

import "github.com/beatmq/beatmq/amqp"

// PublishResult is the outcome of a publish.
type PublishResult struct {
	// Routed is false when no queue took the message: with mandatory set,
	// the channel sends basic.return 312 NO_ROUTE (before the confirm).
	Routed bool
	// Rejected is set when a queue refused the message (x-overflow
	// reject-publish): under confirms the channel nacks it.
	Rejected bool
	// Pending is set when the message is being written to disk (a
	// persistent message routed to a durable queue, with a done function
	// given): done will be called once it is durable, and a publisher
	// confirm must wait for that.
	Pending bool
}

// Publish handles basic.publish with its content (immediate=true is the
// channel's to refuse with 540 first). Errors, in RabbitMQ's order
// (rabbit_channel, basic.publish): 404 for a missing exchange, 403 for an
// internal one, 406 "fast reply consumer does not exist" for a reply_to of
// amq.rabbitmq.reply-to on a session not consuming from it, 406 for a
// user_id other than the connection's user, for an invalid expiration and
// for CC or BCC headers that are not arrays. In a transaction the message
// is routed now and delivered at commit, which reports the mandatory
// returns; Publish then says Routed. Replies (to amq.rabbitmq.reply-to.*
// names through the default exchange) are delivered at once, in a
// transaction too, and do not count as routed, as in RabbitMQ 3.10.8.
//
// A persistent message routed to durable queues is written to the store
// (when the vhost has one) before the queues take it, and becomes durable
// with the store's next sync; PublishDurable waits for that.
//
// Publish may replace msg's property list: a reply_to of
// amq.rabbitmq.reply-to becomes the session's reply name.
func (s *Session) Publish(exchange, routingKey string, mandatory bool, msg *Message) (PublishResult, error) {
	return s.PublishDurable(exchange, routingKey, mandatory, msg, nil)
}

// PublishDurable is Publish for a channel in confirm mode: when the message
// is written to the store, done is called from another goroutine once it
// is durable (fdatasync'ed, or written, as the store's sync mode says) or
// the write failed, and the result says Pending; the confirm waits for
// done. done must not block or call into this package.
func (s *Session) PublishDurable(exchange, routingKey string, mandatory bool, msg *Message, done func(error)) (PublishResult, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.countPublish()
	if err := s.permit(Write, "exchange", exchange); err != nil {
		return PublishResult{}, err
	}
	v := s.v
	v.mu.RLock()
	x := v.exchanges[exchange]
	if x == nil {
		v.mu.RUnlock()
		return PublishResult{}, v.notFound("exchange", exchange)
	}
	if x.internal {
		v.mu.RUnlock()
		return PublishResult{}, amqp.NewError(amqp.AccessRefused, "cannot publish to internal %s", v.rs("exchange", exchange))
	}
	if err := s.checkMessage(msg); err != nil {
		v.mu.RUnlock()
		return PublishResult{}, err
	}
	s.r.keys = appendRoutingKeys(s.r.keys[:0], routingKey, msg)
	v.routeLocked(&s.r, x, s.r.keys, msg.Headers)
	v.mu.RUnlock()
	clear(s.r.keys)
	for _, name := range s.r.replies {
		v.deliverReply(name, msg)
	}
	clear(s.r.replies)
	qs := s.r.qs
	if s.tx != nil {
		s.tx.pubs = append(s.tx.pubs, txPublish{msg: msg, qs: append([]*Queue(nil), qs...), mandatory: mandatory})
		clear(qs)
		return PublishResult{Routed: true}, nil
	}
	res := PublishResult{Routed: len(qs) > 0}
	sid, pending, err := v.persist(msg, qs, done)
	if err != nil {
		clear(qs)
		return PublishResult{}, err
	}
	s.countRouted(len(qs), mandatory)
	res.Pending = pending
	for _, q := range qs {
		if !q.publish(msg, sid) {
			res.Rejected = true
		}
	}
	clear(qs)
	return res, nil
}

// checkMessage is rabbit_channel's checks of a published message once its
// exchange is known, in its order: the direct reply-to rewrite
// (maybe_set_fast_reply_to/2), check_user_id_header/2,
// check_expiration_header/1, then the CC and BCC headers
// (rabbit_basic:message/3).
func (s *Session) checkMessage(msg *Message) error {
	if msg.fastReply {
		if err := s.setReplyTo(msg); err != nil {
			return err
		}
	}
	x := msg.ext
	if x != nil && x.hasUserID && x.userID != s.conn.user && !s.conn.impersonator {
		return precondition("user_id property set to '%s' but authenticated user was '%s'", x.userID, s.conn.user)
	}
	if err := msg.expirationError(); err != nil {
		return err
	}
	if x == nil {
		return nil
	}
	return x.routesErr
}
