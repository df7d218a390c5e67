package engine

import (
	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost"
)

// exchangeMethod handles the exchange class (40): declare, delete, bind,
// unbind, each answered with its -ok unless nowait.
func (ch *channel) exchangeMethod(m amqp.Method) error {
	s := ch.session()
	switch m := m.(type) {
	case *amqp.ExchangeDeclare:
		err := s.DeclareExchange(vhost.ExchangeSpec{
			Name: m.Exchange, Type: m.Type, Passive: m.Passive, Durable: m.Durable,
			AutoDelete: m.AutoDelete, Internal: m.Internal, Args: m.Arguments,
		})
		return ch.reply(err, m.NoWait, &amqp.ExchangeDeclareOk{})
	case *amqp.ExchangeDelete:
		return ch.reply(s.DeleteExchange(m.Exchange, m.IfUnused), m.NoWait, &amqp.ExchangeDeleteOk{})
	case *amqp.ExchangeBind:
		err := s.BindExchange(m.Destination, m.Source, m.RoutingKey, m.Arguments)
		return ch.reply(err, m.NoWait, &amqp.ExchangeBindOk{})
	case *amqp.ExchangeUnbind:
		err := s.UnbindExchange(m.Destination, m.Source, m.RoutingKey, m.Arguments)
		return ch.reply(err, m.NoWait, &amqp.ExchangeUnbindOk{})
	}
	return amqp.NewError(amqp.CommandInvalid, "unimplemented method")
}

// reply sends ok after a vhost call that returned err, unless err is set
// (then it is the channel's or connection's close) or the client asked for
// nowait.
func (ch *channel) reply(err error, nowait bool, ok amqp.Method) error {
	if err != nil {
		return err
	}
	if nowait {
		return nil
	}
	return ch.sendMethod(ok)
}
