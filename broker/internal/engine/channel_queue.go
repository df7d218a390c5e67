package engine

import (
	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost"
)

// queueMethodCall handles the queue class (50): declare, bind, unbind, purge,
// delete, each answered with its -ok unless nowait (queue.unbind has none).
func (ch *channel) queueMethodCall(m amqp.Method) error {
	s := ch.session()
	switch m := m.(type) {
	case *amqp.QueueDeclare:
		d, err := s.DeclareQueue(vhost.QueueSpec{
			Name: m.Queue, Passive: m.Passive, Durable: m.Durable, Exclusive: m.Exclusive,
			AutoDelete: m.AutoDelete, Args: m.Arguments,
		})
		if err != nil {
			return err
		}
		return ch.reply(nil, m.NoWait, &amqp.QueueDeclareOk{Queue: d.Name, MessageCount: d.Messages, ConsumerCount: d.Consumers})
	case *amqp.QueueBind:
		return ch.reply(s.BindQueue(m.Queue, m.Exchange, m.RoutingKey, m.Arguments), m.NoWait, &amqp.QueueBindOk{})
	case *amqp.QueueUnbind:
		return ch.reply(s.UnbindQueue(m.Queue, m.Exchange, m.RoutingKey, m.Arguments), false, &amqp.QueueUnbindOk{})
	case *amqp.QueuePurge:
		n, err := s.PurgeQueue(m.Queue)
		if err != nil {
			return err
		}
		return ch.reply(nil, m.NoWait, &amqp.QueuePurgeOk{MessageCount: n})
	case *amqp.QueueDelete:
		n, err := s.DeleteQueue(m.Queue, m.IfUnused, m.IfEmpty)
		if err != nil {
			return err
		}
		return ch.reply(nil, m.NoWait, &amqp.QueueDeleteOk{MessageCount: n})
	}
	return amqp.NewError(amqp.CommandInvalid, "unimplemented method")
}
