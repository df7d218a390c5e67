package engine

import (
	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost"
)

// basicMethod handles the basic class (60) but basic.publish: qos, consume,
// cancel, get, ack, nack, reject, recover.
func (ch *channel) basicMethod(m amqp.Method) error {
	s := ch.session()
	switch m := m.(type) {
	case *amqp.BasicAck:
		return s.Ack(m.DeliveryTag, m.Multiple)
	case *amqp.BasicNack:
		return s.Nack(m.DeliveryTag, m.Multiple, m.Requeue)
	case *amqp.BasicReject:
		return s.Reject(m.DeliveryTag, m.Requeue)
	case *amqp.BasicQos:
		return ch.reply(s.Qos(m.PrefetchSize, m.PrefetchCount, m.Global), false, &amqp.BasicQosOk{})
	case *amqp.BasicConsume:
		return ch.consume(s, m)
	case *amqp.BasicCancel:
		// No delivery for the consumer follows once Cancel returns, so
		// cancel-ok ends its stream (rabbit_channel, basic.cancel).
		s.Cancel(m.ConsumerTag)
		return ch.reply(nil, m.NoWait, &amqp.BasicCancelOk{ConsumerTag: m.ConsumerTag})
	case *amqp.BasicGet:
		// A message goes out as get-ok through the sink, in order with the
		// channel's deliveries.
		got, err := s.Get(m.Queue, m.NoAck)
		if err != nil || got {
			return err
		}
		return ch.sendMethod(&amqp.BasicGetEmpty{})
	case *amqp.BasicRecover:
		return ch.reply(s.Recover(m.Requeue), false, &amqp.BasicRecoverOk{})
	case *amqp.BasicRecoverAsync:
		return s.Recover(m.Requeue)
	}
	return amqp.NewError(amqp.CommandInvalid, "unimplemented method")
}

// consume handles basic.consume. consume-ok is queued from inside the model,
// once the consumer is registered and before its first delivery, so that
// it reaches the client first (rabbit_channel sends consume-ok before the
// queue may deliver).
func (ch *channel) consume(s *vhost.Session, m *amqp.BasicConsume) error {
	var ok func(string)
	if !m.NoWait {
		ok = func(tag string) { ch.queueMethod(&amqp.BasicConsumeOk{ConsumerTag: tag}) }
	}
	_, err := s.Consume(vhost.ConsumeSpec{
		Queue: m.Queue, Tag: m.ConsumerTag, NoLocal: m.NoLocal, NoAck: m.NoAck,
		Exclusive: m.Exclusive, Args: m.Arguments,
	}, ok)
	return err
}

// sink is a channel's vhost.Sink: it queues deliveries for the connection's
// writer and never blocks (the model calls it with its locks held).
type sink struct {
	ch           *channel
	cancelNotify bool // the client announced consumer_cancel_notify
}

// Deliver queues basic.deliver, or basic.get-ok, with the message's content
// as received.
func (k sink) Deliver(d vhost.Delivery) {
	msg := d.Message
	props := msg.Properties
	if d.Properties != nil {
		props = d.Properties
	}
	if d.Get {
		k.ch.queueContent(&amqp.BasicGetOk{
			DeliveryTag: d.DeliveryTag, Redelivered: d.Redelivered,
			Exchange: msg.Exchange, RoutingKey: msg.RoutingKey, MessageCount: d.MessageCount,
		}, props, msg.Body)
		return
	}
	k.ch.queueDeliver(&amqp.BasicDeliver{
		ConsumerTag: d.ConsumerTag, DeliveryTag: d.DeliveryTag, Redelivered: d.Redelivered,
		Exchange: msg.Exchange, RoutingKey: msg.RoutingKey,
	}, props, msg.Body)
}

// ConsumerCancelled sends basic.cancel for a consumer whose queue was
// deleted, to clients that announced consumer_cancel_notify, with nowait set
// (rabbit_channel:cancel_consumer/3).
func (k sink) ConsumerCancelled(tag string) {
	if k.cancelNotify {
		k.ch.queueMethod(&amqp.BasicCancel{ConsumerTag: tag, NoWait: true})
	}
}
