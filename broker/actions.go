package broker

import (
	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost"
)

// This file holds what the Server does on behalf of a user outside any
// AMQP connection: the management API's queue get, publish, purge and
// delete, and its declarations. Each runs on a session opened for the
// call, with the user's permissions, as RabbitMQ's management plugin runs
// them over a direct connection (rabbit_mgmt_util:amqp_request/4): the
// model's checks, errors and counters are those of a client's channel.

// GetMode is how GetMessages settles the messages it takes, as the
// management API's "ackmode" (rabbit_mgmt_wm_queue_get).
type GetMode uint8

const (
	// GetRequeue takes the messages with acknowledgement and requeues them
	// when done, marked redelivered ("ack_requeue_true").
	GetRequeue GetMode = iota
	// GetAck takes the messages for good ("ack_requeue_false").
	GetAck
	// GetRejectRequeue requeues them like GetRequeue
	// ("reject_requeue_true").
	GetRejectRequeue
	// GetReject rejects them without requeue: dead-lettered when the queue
	// has a dead-letter exchange, else dropped ("reject_requeue_false").
	GetReject
)

// GotMessage is one message taken by GetMessages, as basic.get-ok and its
// content carry it.
type GotMessage struct {
	Exchange, RoutingKey string
	Redelivered          bool
	// MessageCount is the number of messages left ready in the queue after
	// this one was taken.
	MessageCount uint32
	// Properties is the content header's property list, undecoded.
	Properties []byte
	Body       []byte
}

// getSink collects the basic.get-ok deliveries of a session GetMessages
// opened. Deliver runs inside Session.Get, on the caller's goroutine.
type getSink struct {
	got  []GotMessage
	tags []uint64
}

func (g *getSink) Deliver(d vhost.Delivery) {
	m := d.Message
	props := d.Properties
	if props == nil {
		props = m.Properties
	}
	g.got = append(g.got, GotMessage{Exchange: m.Exchange, RoutingKey: m.RoutingKey, Redelivered: d.Redelivered,
		MessageCount: d.MessageCount, Properties: props, Body: m.Body})
	g.tags = append(g.tags, d.DeliveryTag)
}

func (g *getSink) ConsumerCancelled(string) {}

// session opens a connection and a session in vhost vh for user, with the
// user's permissions as connection.open would give them; close ends both.
// ErrNoVHost for an unknown vhost.
func (s *Server) session(user, vh string, sink vhost.Sink) (*vhost.Session, func(), error) {
	v := s.VHost(vh)
	if v == nil {
		return nil, nil, ErrNoVHost
	}
	c := v.ConnectWith(user, s.access(user, vh), s.hasTag(user, TagImpersonator))
	if sink == nil {
		sink = &getSink{}
	}
	sess := c.NewSession(sink)
	return sess, func() { sess.Close(); c.Close() }, nil
}

// GetMessages takes up to count messages from queue in vhost vh as user,
// with basic.get, and settles them as mode says once all are taken (so
// that a requeued message is not taken twice): a negative count takes
// every ready message, as the management API's does. Errors are those of
// basic.get (*amqp.Error: 403 without read permission, 404 for a missing
// queue), or ErrNoVHost.
func (s *Server) GetMessages(user, vh, queue string, count int, mode GetMode) ([]GotMessage, error) {
	sink := &getSink{}
	sess, done, err := s.session(user, vh, sink)
	if err != nil {
		return nil, err
	}
	defer done()
	for n := 0; n != count; n++ {
		ok, err := sess.Get(queue, mode == GetAck)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
	}
	switch mode {
	case GetReject:
		for _, tag := range sink.tags {
			if err := sess.Reject(tag, false); err != nil {
				return nil, err
			}
		}
	case GetRequeue, GetRejectRequeue:
		// The session's close requeues them, marked redelivered, in order.
	}
	return sink.got, nil
}

// PublishMessage publishes body with the property list props to exchange
// ("" is the default exchange) in vhost vh as user, routed as a client's
// basic.publish (not mandatory): a persistent message routed to a durable
// queue goes to the store. It reports whether a queue took the message.
// Errors are those of basic.publish (*amqp.Error) or ErrNoVHost.
func (s *Server) PublishMessage(user, vh, exchange, routingKey string, props amqp.Properties, body []byte) (routed bool, err error) {
	sess, done, err := s.session(user, vh, nil)
	if err != nil {
		return false, err
	}
	defer done()
	msg, err := vhost.NewMessage(exchange, routingKey, amqp.AppendProperties(nil, &props), body)
	if err != nil {
		return false, err
	}
	res, err := sess.Publish(exchange, routingKey, false, msg)
	if err != nil {
		return false, err
	}
	return res.Routed, nil
}

// PurgeQueue removes the ready messages of queue in vhost vh as user
// (queue.purge) and returns how many.
func (s *Server) PurgeQueue(user, vh, queue string) (uint32, error) {
	sess, done, err := s.session(user, vh, nil)
	if err != nil {
		return 0, err
	}
	defer done()
	return sess.PurgeQueue(queue)
}

// DeleteQueue deletes queue in vhost vh as user (queue.delete with
// if-unused and if-empty) and returns the number of ready messages deleted
// with it.
func (s *Server) DeleteQueue(user, vh, queue string, ifUnused, ifEmpty bool) (uint32, error) {
	sess, done, err := s.session(user, vh, nil)
	if err != nil {
		return 0, err
	}
	defer done()
	return sess.DeleteQueue(queue, ifUnused, ifEmpty)
}

// DeclareQueue declares a queue in vhost vh as user (queue.declare, never
// exclusive: the session ends with the call) and reports whether it is
// new.
func (s *Server) DeclareQueue(user, vh string, spec vhost.QueueSpec) (created bool, err error) {
	v := s.VHost(vh)
	if v == nil {
		return false, ErrNoVHost
	}
	_, existed := v.Queue(spec.Name)
	sess, done, err := s.session(user, vh, nil)
	if err != nil {
		return false, err
	}
	defer done()
	spec.Exclusive = false
	_, err = sess.DeclareQueue(spec)
	return err == nil && !existed, err
}

// DeclareExchange declares an exchange in vhost vh as user
// (exchange.declare) and reports whether it is new.
func (s *Server) DeclareExchange(user, vh string, spec vhost.ExchangeSpec) (created bool, err error) {
	v := s.VHost(vh)
	if v == nil {
		return false, ErrNoVHost
	}
	_, existed := v.Exchange(spec.Name)
	sess, done, err := s.session(user, vh, nil)
	if err != nil {
		return false, err
	}
	defer done()
	err = sess.DeclareExchange(spec)
	return err == nil && !existed, err
}

// DeleteExchange deletes an exchange in vhost vh as user (exchange.delete
// with if-unused).
func (s *Server) DeleteExchange(user, vh, name string, ifUnused bool) error {
	sess, done, err := s.session(user, vh, nil)
	if err != nil {
		return err
	}
	defer done()
	return sess.DeleteExchange(name, ifUnused)
}
