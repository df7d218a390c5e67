package mgmt

import (
	"errors"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/vhost"
)

// The Messaging of a broker.Server: its actions on behalf of a user
// (broker/actions.go) and its bindings and channels.

// getModes maps the API's ack modes to the server's.
var getModes = map[AckMode]broker.GetMode{
	AckRequeue: broker.GetRequeue, Ack: broker.GetAck,
	RejectRequeue: broker.GetRejectRequeue, Reject: broker.GetReject,
}

func (a *serverBroker) GetMessages(user, vh, queue string, count int, mode AckMode) ([]Message, error) {
	m, ok := getModes[mode]
	if !ok {
		return nil, errors.New("unknown ack mode " + string(mode))
	}
	got, err := a.s.GetMessages(user, vh, queue, count, m)
	if err != nil {
		return nil, messagingErr(err)
	}
	out := make([]Message, 0, len(got))
	for _, g := range got {
		props, err := amqp.DecodeProperties(g.Properties)
		if err != nil {
			return nil, err // the model checked them when they were published
		}
		out = append(out, Message{Exchange: g.Exchange, RoutingKey: g.RoutingKey, Redelivered: g.Redelivered,
			MessageCount: g.MessageCount, Properties: props, Body: g.Body})
	}
	return out, nil
}

func (a *serverBroker) Publish(user, vh, exchange, routingKey string, props amqp.Properties, body []byte) (bool, error) {
	routed, err := a.s.PublishMessage(user, vh, exchange, routingKey, props, body)
	return routed, messagingErr(err)
}

func (a *serverBroker) PurgeQueue(user, vh, queue string) error {
	_, err := a.s.PurgeQueue(user, vh, queue)
	return messagingErr(err)
}

func (a *serverBroker) DeleteQueue(user, vh, queue string, ifUnused, ifEmpty bool) error {
	_, err := a.s.DeleteQueue(user, vh, queue, ifUnused, ifEmpty)
	return messagingErr(err)
}

func (a *serverBroker) DeclareQueue(user, vh string, q QueueDeclaration) (bool, error) {
	created, err := a.s.DeclareQueue(user, vh, vhost.QueueSpec{Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete, Args: q.Arguments})
	return created, messagingErr(err)
}

func (a *serverBroker) DeclareExchange(user, vh string, x ExchangeDeclaration) (bool, error) {
	created, err := a.s.DeclareExchange(user, vh, vhost.ExchangeSpec{Name: x.Name, Type: x.Type, Durable: x.Durable,
		AutoDelete: x.AutoDelete, Internal: x.Internal, Args: x.Arguments})
	return created, messagingErr(err)
}

func (a *serverBroker) DeleteExchange(user, vh, name string, ifUnused bool) error {
	return messagingErr(a.s.DeleteExchange(user, vh, name, ifUnused))
}

// messagingErr maps the server's unknown-vhost error to ErrNotFound.
func messagingErr(err error) error {
	if errors.Is(err, broker.ErrNoVHost) {
		return ErrNotFound
	}
	return err
}

func (a *serverBroker) Bindings() []Binding {
	bs := a.s.Bindings()
	out := make([]Binding, 0, len(bs))
	for _, b := range bs {
		out = append(out, Binding{Vhost: b.VHost, Source: b.Source, Destination: b.Destination,
			DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: tableMap(b.Arguments)})
	}
	return out
}

// Channels lists the channels of the connections Connections lists.
func (a *serverBroker) Channels() []Channel {
	chs := a.s.Channels()
	out := make([]Channel, 0, len(chs))
	for i := range chs {
		ch := &chs[i]
		in := &ch.Session
		peerHost, peerPort := splitHostPort(ch.Conn.Peer)
		c := Channel{
			Connection: ch.Conn.Name, Number: ch.Number, Node: a.s.ClusterName(), User: ch.Conn.User, Vhost: ch.Conn.VHost,
			PeerHost: peerHost, PeerPort: peerPort, PrefetchCount: in.PrefetchCount, GlobalPrefetchCount: in.GlobalPrefetchCount,
			Unacked: in.Unacked, Unconfirmed: ch.Unconfirmed, Uncommitted: in.Uncommitted, AcksUncommitted: in.AcksUncommitted,
			Confirm: in.Confirm, Transactional: in.Transactional, Stats: channelStats(&in.Stats),
		}
		if ch.Closing {
			c.State = "closing"
		}
		for _, k := range in.Consumers {
			c.Consumers = append(c.Consumers, ChannelConsumer{Tag: k.Tag, Queue: k.Queue, AckRequired: k.AckRequired,
				Exclusive: k.Exclusive, Prefetch: k.Prefetch, Arguments: tableMap(k.Arguments)})
		}
		out = append(out, c)
	}
	return out
}

// channelStats converts a session's counters, summed over queue types.
func channelStats(m *vhost.MessageStats) ChannelStats {
	s := ChannelStats{Publish: m.Received, Confirm: m.Confirmed, ReturnUnroutable: m.UnroutableReturned, DropUnroutable: m.UnroutableDropped}
	for _, q := range m.ByQueueType {
		s.Deliver += q.DeliveredConsumeManualAck
		s.DeliverNoAck += q.DeliveredConsumeAutoAck
		s.Get += q.DeliveredGetManualAck
		s.GetNoAck += q.DeliveredGetAutoAck
		s.GetEmpty += q.GetEmpty
		s.Redeliver += q.Redelivered
		s.Ack += q.Acknowledged
	}
	return s
}
