package mgmt

import "github.com/beatmq/beatmq/amqp"

// Messaging is the part of Broker that acts on queues and exchanges for a
// user, as RabbitMQ's management plugin does over a direct AMQP
// connection: each call checks the user's permissions in the vhost and
// behaves like the AMQP method it stands for. Errors are *amqp.Error
// values with RabbitMQ's codes and texts ("NOT_FOUND - no queue 'q' in
// vhost '/'"), or ErrNotFound for an unknown vhost; the handler turns them
// into each endpoint's HTTP answer.
type Messaging interface {
	// GetMessages takes up to count messages from a queue with basic.get
	// and settles them as mode says once all are taken; a negative count
	// takes every ready message.
	GetMessages(user, vhost, queue string, count int, mode AckMode) ([]Message, error)
	// Publish publishes a message (basic.publish, not mandatory) to
	// exchange ("" for the default exchange) and reports whether a queue
	// took it.
	Publish(user, vhost, exchange, routingKey string, props amqp.Properties, body []byte) (routed bool, err error)
	// PurgeQueue removes a queue's ready messages (queue.purge).
	PurgeQueue(user, vhost, queue string) error
	// DeleteQueue deletes a queue (queue.delete).
	DeleteQueue(user, vhost, queue string, ifUnused, ifEmpty bool) error
	// DeclareQueue declares a queue (queue.declare, not exclusive) and
	// reports whether it is new.
	DeclareQueue(user, vhost string, q QueueDeclaration) (created bool, err error)
	// DeclareExchange declares an exchange (exchange.declare) and reports
	// whether it is new.
	DeclareExchange(user, vhost string, x ExchangeDeclaration) (created bool, err error)
	// DeleteExchange deletes an exchange (exchange.delete).
	DeleteExchange(user, vhost, name string, ifUnused bool) error
	// Bindings lists the bindings of every vhost, each vhost's implicit
	// default-exchange bindings (one per queue) first, as
	// rabbit_binding:list/1 does.
	Bindings() []Binding
	// Channels lists the open channels of the open connections.
	Channels() []Channel
}

// AckMode is the "ackmode" of POST /api/queues/{vhost}/{name}/get.
type AckMode string

// The ack modes, as rabbit_mgmt_wm_queue_get names them.
const (
	// AckRequeue requeues the messages taken, marked redelivered.
	AckRequeue AckMode = "ack_requeue_true"
	// Ack removes them.
	Ack AckMode = "ack_requeue_false"
	// RejectRequeue requeues them, marked redelivered.
	RejectRequeue AckMode = "reject_requeue_true"
	// Reject rejects them: dead-lettered if the queue says so, else dropped.
	Reject AckMode = "reject_requeue_false"
)

// valid tells whether m is one of the four ack modes.
func (m AckMode) valid() bool {
	switch m {
	case AckRequeue, Ack, RejectRequeue, Reject:
		return true
	}
	return false
}

// Message is one message taken by GetMessages.
type Message struct {
	Exchange, RoutingKey string
	Redelivered          bool
	// MessageCount is the number of messages left ready after this one.
	MessageCount uint32
	Properties   amqp.Properties
	Body         []byte
}

// QueueDeclaration is the body of PUT /api/queues/{vhost}/{name}.
type QueueDeclaration struct {
	Name       string
	Durable    bool
	AutoDelete bool
	Arguments  amqp.Table
}

// ExchangeDeclaration is the body of PUT /api/exchanges/{vhost}/{name}.
type ExchangeDeclaration struct {
	Name       string
	Type       string
	Durable    bool
	AutoDelete bool
	Internal   bool
	Arguments  amqp.Table
}

// Binding is one binding for GET /api/bindings.
type Binding struct {
	Vhost string
	// Source is the exchange ("" for the default exchange).
	Source string
	// Destination is a queue or an exchange, as DestinationType says
	// ("queue" or "exchange").
	Destination, DestinationType string
	RoutingKey                   string
	// Arguments are converted as Connection.ClientProperties.
	Arguments map[string]any
}

// Channel is one open channel for GET /api/channels.
type Channel struct {
	// Connection is the Name of the channel's connection; Number its
	// channel number.
	Connection string
	Number     uint16
	// Node is the node name; empty leaves "node" out.
	Node string
	// User and Vhost are the connection's.
	User, Vhost string
	// PeerHost and PeerPort are the connection's client address.
	PeerHost string
	PeerPort int
	// State is "running" when empty.
	State string
	// PrefetchCount is the basic.qos prefetch of new consumers,
	// GlobalPrefetchCount the channel-wide limit (global=true).
	PrefetchCount, GlobalPrefetchCount int
	// Consumers are the channel's consumers.
	Consumers []ChannelConsumer
	// Unacked counts deliveries awaiting acknowledgement, Unconfirmed
	// publishes awaiting their confirm.
	Unacked, Unconfirmed int
	// Uncommitted and AcksUncommitted count the publishes and
	// acknowledgements held by the open transaction.
	Uncommitted, AcksUncommitted int
	// Confirm and Transactional tell the channel's mode.
	Confirm, Transactional bool
	// Stats are the channel's message counters.
	Stats ChannelStats
}

// ChannelConsumer is one consumer of a channel.
type ChannelConsumer struct {
	Tag, Queue  string
	AckRequired bool
	Exclusive   bool
	// Prefetch is the consumer's prefetch count, 0 for none.
	Prefetch int
	// Arguments are converted as Connection.ClientProperties.
	Arguments map[string]any
}

// ChannelStats are a channel's message counters, RabbitMQ's message_stats
// items: the publishing side's (publish, confirm, return_unroutable,
// drop_unroutable) and the delivering side's (deliver, deliver_no_ack,
// get, get_no_ack, get_empty, redeliver, ack).
type ChannelStats struct {
	Publish, Confirm, ReturnUnroutable, DropUnroutable        uint64
	Deliver, DeliverNoAck, Get, GetNoAck, GetEmpty, Redeliver uint64
	Ack                                                       uint64
}
