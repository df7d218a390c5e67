package mgmttest

import (
	"regexp"
	"slices"
	"strings"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// The fake's messaging: each queue holds ready messages only (a get that
// requeues puts them back at once, marked redelivered); the default
// exchange routes to the queue named by the routing key, any other
// exchange through the bindings added with AddBinding whose routing key
// equals the message's (every binding for a fanout exchange). Permissions
// are checked as the broker does, with the fake's permission list.

// queueKey names a queue across vhosts.
type queueKey struct{ vhost, name string }

// AddBinding adds an explicit binding (the implicit default-exchange
// bindings are listed by Bindings without being added).
func (b *Broker) AddBinding(bd mgmt.Binding) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bindings = append(b.bindings, bd)
}

// AddChannel adds an open channel.
func (b *Broker) AddChannel(c mgmt.Channel) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.channels = append(b.channels, c)
}

// AddMessage appends a ready message to a queue added with AddQueue.
func (b *Broker) AddMessage(vhost, queue string, m mgmt.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enqueueLocked(queueKey{vhost, queue}, m)
}

// Messages returns the ready messages of a queue, in order.
func (b *Broker) Messages(vhost, queue string) []mgmt.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs[queueKey{vhost, queue}])
}

// enqueueLocked appends m to the queue k; b.mu held.
func (b *Broker) enqueueLocked(k queueKey, m mgmt.Message) {
	if b.msgs == nil {
		b.msgs = map[queueKey][]mgmt.Message{}
	}
	b.msgs[k] = append(b.msgs[k], m)
	b.syncCountLocked(k)
}

// syncCountLocked sets the queue's MessagesReady from its messages.
func (b *Broker) syncCountLocked(k queueKey) {
	if i := b.queueIndexLocked(k); i >= 0 {
		b.queues[i].MessagesReady = len(b.msgs[k])
	}
}

func (b *Broker) queueIndexLocked(k queueKey) int {
	return slices.IndexFunc(b.queues, func(q mgmt.Queue) bool { return q.Vhost == k.vhost && q.Name == k.name })
}

func (b *Broker) exchangeIndexLocked(vhost, name string) int {
	return slices.IndexFunc(b.xs, func(x mgmt.Exchange) bool { return x.Vhost == vhost && x.Name == name })
}

// vhostExistsLocked tells whether vhost has exchanges, which is what makes
// a vhost for the API.
func (b *Broker) vhostExistsLocked(vhost string) bool {
	return slices.ContainsFunc(b.xs, func(x mgmt.Exchange) bool { return x.Vhost == vhost })
}

// permitLocked is rabbit_access_control:check_resource_access/4 over the
// fake's permissions: 403 with RabbitMQ's text unless user's expression
// for perm ("configure", "write" or "read") matches name.
func (b *Broker) permitLocked(user, vhost, perm, kind, name string) error {
	if kind == "exchange" && name == "" {
		name = "amq.default"
	}
	for _, p := range b.perms {
		if p.User != user || p.Vhost != vhost {
			continue
		}
		expr := map[string]string{"configure": p.Configure, "write": p.Write, "read": p.Read}[perm]
		if expr == "" {
			expr = "^$"
		}
		if re, err := regexp.Compile(expr); err == nil && re.MatchString(name) {
			return nil
		}
	}
	return amqp.NewError(amqp.AccessRefused, "access to %s '%s' in vhost '%s' refused for user '%s'", kind, name, vhost, user)
}

// queueForLocked checks the vhost, the permission and the queue's
// existence, in RabbitMQ's order.
func (b *Broker) queueForLocked(user, vhost, perm, name string) (queueKey, error) {
	k := queueKey{vhost, name}
	if !b.vhostExistsLocked(vhost) {
		return k, mgmt.ErrNotFound
	}
	if err := b.permitLocked(user, vhost, perm, "queue", name); err != nil {
		return k, err
	}
	if b.queueIndexLocked(k) < 0 {
		return k, amqp.NewError(amqp.NotFound, "no queue '%s' in vhost '%s'", name, vhost)
	}
	return k, nil
}

// GetMessages implements mgmt.Messaging.
func (b *Broker) GetMessages(user, vhost, queue string, count int, mode mgmt.AckMode) ([]mgmt.Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, err := b.queueForLocked(user, vhost, "read", queue)
	if err != nil {
		return nil, err
	}
	var out []mgmt.Message
	for n := 0; n != count && len(b.msgs[k]) > 0; n++ {
		m := b.msgs[k][0]
		b.msgs[k] = b.msgs[k][1:]
		m.MessageCount = uint32(len(b.msgs[k]))
		out = append(out, m)
	}
	if mode == mgmt.AckRequeue || mode == mgmt.RejectRequeue {
		back := make([]mgmt.Message, 0, len(out)+len(b.msgs[k]))
		for _, m := range out {
			m.Redelivered = true
			back = append(back, m)
		}
		b.msgs[k] = append(back, b.msgs[k]...)
	}
	b.syncCountLocked(k)
	return out, nil
}

// Publish implements mgmt.Messaging.
func (b *Broker) Publish(user, vhost, exchange, routingKey string, props amqp.Properties, body []byte) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.vhostExistsLocked(vhost) {
		return false, mgmt.ErrNotFound
	}
	if err := b.permitLocked(user, vhost, "write", "exchange", exchange); err != nil {
		return false, err
	}
	xi := b.exchangeIndexLocked(vhost, exchange)
	if xi < 0 {
		return false, amqp.NewError(amqp.NotFound, "no exchange '%s' in vhost '%s'", exchange, vhost)
	}
	var dests []queueKey
	if exchange == "" {
		dests = append(dests, queueKey{vhost, routingKey})
	}
	for _, bd := range b.bindings {
		if bd.Vhost == vhost && bd.Source == exchange && bd.DestinationType == "queue" &&
			(bd.RoutingKey == routingKey || b.xs[xi].Type == "fanout") {
			dests = append(dests, queueKey{vhost, bd.Destination})
		}
	}
	routed := false
	for _, k := range dests {
		if b.queueIndexLocked(k) >= 0 {
			b.enqueueLocked(k, mgmt.Message{Exchange: exchange, RoutingKey: routingKey, Properties: props, Body: slices.Clone(body)})
			routed = true
		}
	}
	return routed, nil
}

// PurgeQueue implements mgmt.Messaging.
func (b *Broker) PurgeQueue(user, vhost, queue string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, err := b.queueForLocked(user, vhost, "read", queue)
	if err != nil {
		return err
	}
	delete(b.msgs, k)
	b.syncCountLocked(k)
	return nil
}

// DeleteQueue implements mgmt.Messaging.
func (b *Broker) DeleteQueue(user, vhost, queue string, ifUnused, ifEmpty bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, err := b.queueForLocked(user, vhost, "configure", queue)
	if err != nil {
		return err
	}
	i := b.queueIndexLocked(k)
	q := b.queues[i]
	if ifUnused && q.Consumers > 0 {
		return amqp.NewError(amqp.PreconditionFailed, "queue '%s' in vhost '%s' in use", queue, vhost)
	}
	if ifEmpty && q.MessagesReady+q.MessagesUnacknowledged > 0 {
		return amqp.NewError(amqp.PreconditionFailed, "queue '%s' in vhost '%s' not empty", queue, vhost)
	}
	b.queues = slices.Delete(b.queues, i, i+1)
	delete(b.msgs, k)
	return nil
}

// DeclareQueue implements mgmt.Messaging: a redeclaration must match the
// durable flag.
func (b *Broker) DeclareQueue(user, vhost string, d mgmt.QueueDeclaration) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.vhostExistsLocked(vhost) {
		return false, mgmt.ErrNotFound
	}
	if err := b.permitLocked(user, vhost, "configure", "queue", d.Name); err != nil {
		return false, err
	}
	if strings.HasPrefix(d.Name, "amq.") {
		return false, amqp.NewError(amqp.AccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", d.Name)
	}
	if i := b.queueIndexLocked(queueKey{vhost, d.Name}); i >= 0 {
		if q := b.queues[i]; q.Durable != d.Durable {
			return false, amqp.NewError(amqp.PreconditionFailed,
				"inequivalent arg 'durable' for queue '%s' in vhost '%s': received '%t' but current is '%t'", d.Name, vhost, d.Durable, q.Durable)
		}
		return false, nil
	}
	b.queues = append(b.queues, mgmt.Queue{Name: d.Name, Vhost: vhost, Durable: d.Durable, AutoDelete: d.AutoDelete, Arguments: tableArgs(d.Arguments)})
	return true, nil
}

// tableArgs converts declared arguments for Queue.Arguments.
func tableArgs(t amqp.Table) map[string]any {
	m := map[string]any{}
	for _, f := range t {
		m[f.Name] = f.Value
	}
	return m
}

// DeclareExchange implements mgmt.Messaging: a redeclaration must match
// the type.
func (b *Broker) DeclareExchange(user, vhost string, d mgmt.ExchangeDeclaration) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.vhostExistsLocked(vhost) {
		return false, mgmt.ErrNotFound
	}
	if d.Name == "" {
		return false, amqp.NewError(amqp.AccessRefused, "operation not permitted on the default exchange")
	}
	if err := b.permitLocked(user, vhost, "configure", "exchange", d.Name); err != nil {
		return false, err
	}
	if i := b.exchangeIndexLocked(vhost, d.Name); i >= 0 {
		if x := b.xs[i]; x.Type != d.Type {
			return false, amqp.NewError(amqp.PreconditionFailed,
				"inequivalent arg 'type' for exchange '%s' in vhost '%s': received '%s' but current is '%s'", d.Name, vhost, d.Type, x.Type)
		}
		return false, nil
	}
	if strings.HasPrefix(d.Name, "amq.") {
		return false, amqp.NewError(amqp.AccessRefused, "exchange name '%s' contains reserved prefix 'amq.*'", d.Name)
	}
	b.xs = append(b.xs, mgmt.Exchange{Name: d.Name, Vhost: vhost, Type: d.Type, Durable: d.Durable, AutoDelete: d.AutoDelete,
		Internal: d.Internal, Arguments: tableArgs(d.Arguments)})
	return true, nil
}

// DeleteExchange implements mgmt.Messaging.
func (b *Broker) DeleteExchange(user, vhost, name string, ifUnused bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.vhostExistsLocked(vhost) {
		return mgmt.ErrNotFound
	}
	if err := b.permitLocked(user, vhost, "configure", "exchange", name); err != nil {
		return err
	}
	if name == "" || strings.HasPrefix(name, "amq.") {
		return amqp.NewError(amqp.AccessRefused, "operation not permitted on the default exchange")
	}
	i := b.exchangeIndexLocked(vhost, name)
	if i < 0 {
		return nil
	}
	if ifUnused && slices.ContainsFunc(b.bindings, func(bd mgmt.Binding) bool { return bd.Vhost == vhost && bd.Source == name }) {
		return amqp.NewError(amqp.PreconditionFailed, "exchange '%s' in vhost '%s' in use", name, vhost)
	}
	b.xs = slices.Delete(b.xs, i, i+1)
	return nil
}

// Bindings implements mgmt.Messaging: per vhost, the implicit
// default-exchange binding of every queue, then the added ones.
func (b *Broker) Bindings() []mgmt.Binding {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []mgmt.Binding
	for _, q := range b.queues {
		out = append(out, mgmt.Binding{Vhost: q.Vhost, Destination: q.Name, DestinationType: "queue", RoutingKey: q.Name, Arguments: map[string]any{}})
	}
	return append(out, b.bindings...)
}

// Channels implements mgmt.Messaging.
func (b *Broker) Channels() []mgmt.Channel {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.channels)
}
