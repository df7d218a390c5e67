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
}

// Publish handles basic.publish with its content (immediate=true is the
// channel's to refuse with 540 first). Errors: 404 for a missing exchange,
// 403 for an internal one, 406 for an invalid expiration property. In a
// transaction the message is routed now and delivered at commit, which
// reports the mandatory returns; Publish then says Routed.
func (s *Session) Publish(exchange, routingKey string, mandatory bool, msg *Message) (PublishResult, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
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
	if err := msg.expirationError(); err != nil {
		v.mu.RUnlock()
		return PublishResult{}, err
	}
	v.routeLocked(&s.r, x, routingKey, msg.Headers)
	v.mu.RUnlock()
	qs := s.r.qs
	if s.tx != nil {
		s.tx.pubs = append(s.tx.pubs, txPublish{msg: msg, qs: append([]*Queue(nil), qs...), mandatory: mandatory})
		clear(qs)
		return PublishResult{Routed: true}, nil
	}
	res := PublishResult{Routed: len(qs) > 0}
	for _, q := range qs {
		if !q.publish(msg) {
			res.Rejected = true
		}
	}
	clear(qs)
	return res, nil
}
