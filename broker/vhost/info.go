package vhost

import (
	"sort"

	"github.com/beatmq/beatmq/amqp"
)

// QueueInfo describes a queue as the management API lists it.
type QueueInfo struct {
	VHost      string // the virtual host's name
	Name       string
	Durable    bool
	AutoDelete bool
	Exclusive  bool
	Arguments  amqp.Table
	// Type is the queue type: "classic" or "quorum" (x-queue-type).
	Type string
	// Messages is MessagesReady + MessagesUnacknowledged.
	Messages               int
	MessagesReady          int
	MessagesUnacknowledged int
	Consumers              int
	// MessageBytesReady and MessageBytesUnacknowledged are the body sizes
	// of the ready and the unacknowledged messages.
	MessageBytesReady, MessageBytesUnacknowledged int64
	// MessagesPersistent counts the messages (ready and unacknowledged)
	// kept on disk, MessageBytesPersistent their body sizes: always 0 for a
	// transient queue or a broker without a data directory.
	MessagesPersistent     int
	MessageBytesPersistent int64
	// MessagesPagedOut counts the ready messages whose bodies are only on
	// disk, in the queue's page file, MessageBytesPagedOut their body
	// sizes (RabbitMQ's messages_paged_out and message_bytes_paged_out).
	MessagesPagedOut     int
	MessageBytesPagedOut int64
	// Policy names the queue's policy, "" for none; PolicyDefinition is
	// its definition (RabbitMQ's policy and effective_policy_definition).
	Policy           string
	PolicyDefinition map[string]any
}

// ExchangeInfo describes an exchange as the management API lists it.
type ExchangeInfo struct {
	VHost      string // the virtual host's name
	Name       string
	Type       string
	Durable    bool
	AutoDelete bool
	Internal   bool
	Arguments  amqp.Table
	// Policy names the exchange's policy, "" for none.
	Policy string
}

// BindingInfo describes a binding as the management API lists it.
type BindingInfo struct {
	VHost           string // the virtual host's name
	Source          string
	Destination     string
	DestinationType string // "queue" or "exchange"
	RoutingKey      string
	Arguments       amqp.Table
}

func (q *Queue) info() QueueInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	pname, pdef := policyInfo(q.policy)
	return QueueInfo{
		Policy:                     pname,
		PolicyDefinition:           pdef,
		Name:                       q.name,
		Durable:                    q.durable,
		AutoDelete:                 q.autoDelete,
		Exclusive:                  q.owner != nil,
		Arguments:                  q.args,
		Type:                       q.qtype.name,
		MessagesReady:              q.readyLen(),
		MessagesUnacknowledged:     q.unacked,
		Messages:                   q.readyLen() + q.unacked,
		MessagesPagedOut:           q.paged(),
		MessageBytesPagedOut:       q.pagedBytes(),
		Consumers:                  len(q.consumers),
		MessageBytesReady:          q.readyBytes(),
		MessageBytesUnacknowledged: q.unackedBytes,
		MessagesPersistent:         q.stored,
		MessageBytesPersistent:     q.storedBytes,
	}
}

// Queues lists the queues, sorted by name.
func (v *VHost) Queues() []QueueInfo {
	v.mu.RLock()
	qs := make([]*Queue, 0, len(v.queues))
	for _, q := range v.queues {
		qs = append(qs, q)
	}
	v.mu.RUnlock()
	out := make([]QueueInfo, len(qs))
	for i, q := range qs {
		out[i] = q.info()
		out[i].VHost = v.name
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Queue describes the queue called name.
func (v *VHost) Queue(name string) (QueueInfo, bool) {
	v.mu.RLock()
	q := v.queues[name]
	v.mu.RUnlock()
	if q == nil {
		return QueueInfo{}, false
	}
	in := q.info()
	in.VHost = v.name
	return in, true
}

func (x *Exchange) info() ExchangeInfo {
	pname, _ := policyInfo(x.policy)
	return ExchangeInfo{Name: x.name, Type: x.kind, Durable: x.durable, AutoDelete: x.autoDelete, Internal: x.internal, Arguments: x.args, Policy: pname}
}

// Exchanges lists the exchanges, sorted by name (the default exchange,
// named "", first).
func (v *VHost) Exchanges() []ExchangeInfo {
	v.mu.RLock()
	out := make([]ExchangeInfo, 0, len(v.exchanges))
	for _, x := range v.exchanges {
		in := x.info()
		in.VHost = v.name
		out = append(out, in)
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Exchange describes the exchange called name.
func (v *VHost) Exchange(name string) (ExchangeInfo, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	x := v.exchanges[name]
	if x == nil {
		return ExchangeInfo{}, false
	}
	in := x.info()
	in.VHost = v.name
	return in, true
}

// Bindings lists the bindings as rabbit_binding:list/1 does: the implicit
// default-exchange binding of every queue first, then the others, sorted by
// source, destination and routing key.
func (v *VHost) Bindings() []BindingInfo {
	v.mu.RLock()
	var implicit, explicit []BindingInfo
	for name := range v.queues {
		implicit = append(implicit, BindingInfo{VHost: v.name, Destination: name, DestinationType: "queue", RoutingKey: name, Arguments: amqp.Table{}})
	}
	for _, x := range v.exchanges {
		for _, b := range x.bindings {
			kind, dest := v.destName(b)
			explicit = append(explicit, BindingInfo{VHost: v.name, Source: x.name, Destination: dest, DestinationType: kind, RoutingKey: b.key, Arguments: b.args})
		}
	}
	v.mu.RUnlock()
	sort.Slice(implicit, func(i, j int) bool { return implicit[i].Destination < implicit[j].Destination })
	sort.Slice(explicit, func(i, j int) bool {
		a, b := explicit[i], explicit[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Destination != b.Destination {
			return a.Destination < b.Destination
		}
		if a.DestinationType != b.DestinationType {
			return a.DestinationType < b.DestinationType
		}
		return a.RoutingKey < b.RoutingKey
	})
	return append(implicit, explicit...)
}
