package engine

import (
	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost"
)

// publish handles a complete basic.publish (rabbit_channel:handle_method/3,
// basic.publish): refuse immediate, route (the session checks the message:
// exchange, reply_to, user_id, expiration, CC and BCC), return an
// unroutable mandatory message (312 NO_ROUTE), then confirm.
func (ch *channel) publish(pub *amqp.BasicPublish, props, body []byte) error {
	if pub.Immediate {
		return amqp.NewError(amqp.NotImplemented, "immediate=true")
	}
	s := ch.session()
	ch.counting()
	msg, err := vhost.NewMessage(pub.Exchange, pub.RoutingKey, props, body)
	if err != nil {
		return contentError{err}
	}
	var done func(error)
	var write uint64
	if msg.Persistent() {
		// Only a persistent message can wait for the store: no closure
		// for the others. Its write spends credit (flow.go).
		if ch.msg.confirm {
			done, write = ch.nextWrite()
		} else {
			done = ch.c.storeDoneFunc()
		}
	}
	res, err := s.PublishDurable(pub.Exchange, pub.RoutingKey, pub.Mandatory, msg, done)
	if err != nil {
		return err
	}
	if res.Pending {
		ch.c.credit.spend()
	}
	if !res.Routed && pub.Mandatory {
		// The return goes out before the confirm (rabbit_channel
		// deliver_to_queues: basic.return, then the confirm is recorded).
		if err := ch.sendReturn(msg); err != nil {
			return err
		}
	}
	if ch.msg.confirm {
		ch.msg.pubSeq++
		ch.unconfirmed.Add(1)
		if res.Pending || ch.waiting() {
			w := durableWait{tag: ch.msg.pubSeq, nack: res.Rejected}
			if res.Pending {
				w.need = write
			}
			ch.waitFor(w)
			return nil
		}
		if res.Rejected {
			// x-overflow reject-publish: nack, in order after the acks before it.
			ch.flushConfirms()
			ch.unconfirmed.Add(-1)
			return ch.sendMethod(&amqp.BasicNack{DeliveryTag: ch.msg.pubSeq})
		}
		ch.confirmed(ch.msg.pubSeq)
	}
	return nil
}

// sendReturn sends basic.return 312 NO_ROUTE with msg's content.
func (ch *channel) sendReturn(msg *vhost.Message) error {
	return ch.sendContent(&amqp.BasicReturn{
		ReplyCode: amqp.NoRoute, ReplyText: "NO_ROUTE", Exchange: msg.Exchange, RoutingKey: msg.RoutingKey,
	}, msg.Properties, msg.Body)
}

// contentError is an error in a message's content rather than its method: a
// property list that does not decode (501 FRAME_ERROR). handleMethod leaves
// its class and method ids at 0, as beatmq has always sent them.
type contentError struct{ err error }

func (e contentError) Error() string { return e.err.Error() }
func (e contentError) Unwrap() error { return e.err }
