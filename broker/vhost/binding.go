package vhost

import (
	"slices"
	"strings"

	"github.com/beatmq/beatmq/amqp"
)

// binding is one binding: source exchange, destination (a queue or an
// exchange), routing key and arguments. Guarded by VHost.mu.
type binding struct {
	src     *Exchange
	q       *Queue    // destination queue, or
	x       *Exchange // destination exchange
	key     string
	args    amqp.Table
	id      bindingID
	removed bool

	// Headers exchanges: the match mode and the fields to compare, parsed
	// once at bind time.
	hmode    uint8
	hpattern []amqp.Field
}

// bindingID identifies a binding within its source: RabbitMQ's #binding{}
// record compares destination, key and arguments (sorted by key).
type bindingID struct {
	q    *Queue
	x    *Exchange
	key  string
	args string
}

// canonicalArgs renders args sorted by name, types included, as the
// identity of a binding's arguments (rabbit_misc:sort_field_table/1).
func canonicalArgs(args amqp.Table) string {
	if len(args) == 0 {
		return ""
	}
	sorted := slices.Clone(args)
	slices.SortStableFunc(sorted, func(a, b amqp.Field) int { return strings.Compare(a.Name, b.Name) })
	return erlangTable(sorted)
}

func (v *VHost) destName(b *binding) (kind, name string) {
	if b.q != nil {
		return "queue", b.q.name
	}
	return "exchange", b.x.name
}

// bindRequest is a queue.bind, queue.unbind, exchange.bind or
// exchange.unbind, as rabbit_channel:binding_action/10 sees it.
type bindRequest struct {
	conn     *Conn
	src      string
	destKind string // "queue" or "exchange"
	dest     string
	key      string
	args     amqp.Table
}

// lookupEnds finds the source exchange and the destination of r. v.mu held.
func (v *VHost) lookupEnds(r *bindRequest) (src *Exchange, q *Queue, x *Exchange, missing error) {
	src = v.exchanges[r.src]
	if r.destKind == "queue" {
		q = v.queues[r.dest]
	} else {
		x = v.exchanges[r.dest]
	}
	// rabbit_binding:call_with_source_and_destination/4 reports the source
	// first when both are missing.
	if src == nil {
		return nil, nil, nil, v.notFound("exchange", r.src)
	}
	if q == nil && x == nil {
		return nil, nil, nil, v.notFound(r.destKind, r.dest)
	}
	return src, q, x, nil
}

func (r *bindRequest) normalize() error {
	r.src = stripCRLF(r.src)
	r.dest = stripCRLF(r.dest)
	// rabbit_channel:binding_action/10 checks the destination, then the
	// source.
	if r.destKind == "exchange" && r.dest == "" {
		return defaultExchangeRefused()
	}
	if r.src == "" {
		return defaultExchangeRefused()
	}
	return nil
}

// bind is rabbit_binding:add/3 behind rabbit_channel:binding_action/10.
func (v *VHost) bind(r bindRequest) error {
	if err := r.normalize(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	src, q, x, err := v.lookupEnds(&r)
	if err != nil {
		return err
	}
	id := bindingID{q: q, x: x, key: r.key, args: canonicalArgs(r.args)}
	b := &binding{src: src, q: q, x: x, key: r.key, args: r.args, id: id}
	if src.kind == KindHeaders {
		if err := b.parseHeadersArgs(); err != nil {
			return err
		}
	}
	if q != nil && q.owner != nil && q.owner != r.conn {
		return v.resourceLocked(q.name)
	}
	if _, ok := src.bindings[id]; ok {
		return nil
	}
	src.bindings[id] = b
	src.addRoute(b)
	if src.durable {
		v.topologyChanged()
	}
	if q != nil {
		if q.bindings == nil {
			q.bindings = make(map[*binding]struct{})
		}
		q.bindings[b] = struct{}{}
	} else {
		if x.asDest == nil {
			x.asDest = make(map[*binding]struct{})
		}
		x.asDest[b] = struct{}{}
	}
	return nil
}

// unbind is rabbit_binding:remove/3: a missing exchange, queue or binding is
// not an error in RabbitMQ 3.10.
func (v *VHost) unbind(r bindRequest) error {
	if err := r.normalize(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	src, q, x, err := v.lookupEnds(&r)
	if err != nil {
		return nil
	}
	id := bindingID{q: q, x: x, key: r.key, args: canonicalArgs(r.args)}
	b, ok := src.bindings[id]
	if !ok {
		return nil
	}
	if q != nil && q.owner != nil && q.owner != r.conn {
		return v.resourceLocked(q.name)
	}
	v.unlinkBinding(b, true)
	return nil
}

// unlinkBinding removes b from its source, its routing table and its
// destination; with autoDelete the source goes too when it was its last
// binding. v.mu held.
func (v *VHost) unlinkBinding(b *binding, autoDelete bool) {
	if b.removed {
		return
	}
	b.removed = true
	src := b.src
	if src.durable {
		v.topologyChanged()
	}
	delete(src.bindings, b.id)
	src.removeRoute(b)
	if b.q != nil {
		delete(b.q.bindings, b)
	} else {
		delete(b.x.asDest, b)
	}
	if autoDelete {
		v.maybeAutoDeleteExchange(src)
	}
}

// addRoute adds b to x's routing table. v.mu held.
func (x *Exchange) addRoute(b *binding) {
	switch x.kind {
	case KindDirect:
		x.direct[b.key] = append(x.direct[b.key], b)
	case KindFanout:
		x.fanout = append(x.fanout, b)
	case KindTopic:
		x.topic.add(b)
	case KindHeaders:
		x.headers = append(x.headers, b)
	}
}

// removeRoute removes b from x's routing table. v.mu held.
func (x *Exchange) removeRoute(b *binding) {
	switch x.kind {
	case KindDirect:
		l := removeBinding(x.direct[b.key], b)
		if len(l) == 0 {
			delete(x.direct, b.key)
		} else {
			x.direct[b.key] = l
		}
	case KindFanout:
		x.fanout = removeBinding(x.fanout, b)
	case KindTopic:
		x.topic.remove(b)
	case KindHeaders:
		x.headers = removeBinding(x.headers, b)
	}
}

func removeBinding(l []*binding, b *binding) []*binding {
	for i, e := range l {
		if e == b {
			l[i] = l[len(l)-1]
			l[len(l)-1] = nil
			return l[:len(l)-1]
		}
	}
	return l
}
