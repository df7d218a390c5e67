package vhost

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost/store"
)

// Durability: a persistent message (delivery_mode 2) routed to a durable
// queue is written to the store before the queue takes it, and settled in
// the store when it leaves the queue for good (ack, reject or nack without
// requeue, no-ack delivery, expiry, max-length, dead-lettering, purge,
// queue deletion). A delivery to a consumer that must ack is marked in the
// store, so that after a crash the message comes back redelivered, as
// RabbitMQ's queue index marks it. Everything else (transient messages,
// non-durable and exclusive queues) stays in memory only, as in RabbitMQ.
//
// Durable exchanges, queues and the bindings between durable ends are the
// vhost's definitions; after a change the vhost calls
// Options.SaveDefinitions with no lock held, before the method that made
// the change returns (so declare-ok is sent once the queue is on disk).

// Stored message formats, the first octet of a stored message: the layout
// below; storeFormatBCC adds the message's BCC routing keys, which its
// properties no longer hold (message_routes.go).
const (
	storeFormat    = 1
	storeFormatBCC = 2
)

// encodeStored lays msg out for the store: format, the publish time (Unix
// nanoseconds, wall clock, so that message TTL keeps counting across a
// restart), exchange, routing key, with storeFormatBCC the count and the
// BCC keys, then properties and body. Strings are preceded by their
// length (uvarint).
func encodeStored(msg *Message, published int64) []byte {
	n := 1 + 8 + 3*binary.MaxVarintLen32 + len(msg.Exchange) + len(msg.RoutingKey) + len(msg.Properties) + len(msg.Body)
	return appendStored(make([]byte, 0, n), msg, published)
}

// appendStored appends encodeStored's layout of msg to b.
func appendStored(b []byte, msg *Message, published int64) []byte {
	format := byte(storeFormat)
	if len(msg.bcc) > 0 {
		format = storeFormatBCC
	}
	b = append(b, format)
	b = binary.BigEndian.AppendUint64(b, uint64(published))
	b = appendString(b, msg.Exchange)
	b = appendString(b, msg.RoutingKey)
	if format == storeFormatBCC {
		b = binary.AppendUvarint(b, uint64(len(msg.bcc)))
		for _, k := range msg.bcc {
			b = appendString(b, k)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(msg.Properties)))
	b = append(b, msg.Properties...)
	return append(b, msg.Body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errStoredFormat reports a stored message beatmq cannot read.
var errStoredFormat = errors.New("not a stored message of a known format")

// decodeStored reverses encodeStored. The message keeps slices of b.
func decodeStored(b []byte) (*Message, int64, error) {
	if len(b) < 9 || (b[0] != storeFormat && b[0] != storeFormatBCC) {
		return nil, 0, errStoredFormat
	}
	format := b[0]
	published := int64(binary.BigEndian.Uint64(b[1:9]))
	b = b[9:]
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		s := b[k : k+int(n)]
		b = b[k+int(n):]
		return s, true
	}
	exchange, ok1 := next()
	key, ok2 := next()
	if !ok1 || !ok2 {
		return nil, 0, errStoredFormat
	}
	var bcc []string
	if format == storeFormatBCC {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, 0, errStoredFormat
		}
		b = b[k:]
		for range n {
			s, ok := next()
			if !ok {
				return nil, 0, errStoredFormat
			}
			bcc = append(bcc, string(s))
		}
	}
	props, ok := next()
	if !ok {
		return nil, 0, errStoredFormat
	}
	msg, err := NewMessage(string(exchange), string(key), props, b)
	if err != nil {
		return nil, 0, fmt.Errorf("stored properties: %w", err)
	}
	msg.bcc = bcc
	return msg, published, nil
}

// persist writes msg to the store for the durable queues among qs when msg
// is persistent, and returns the message id the queues record with it (0:
// not stored). done, if not nil, is called once the write is durable (or
// failed); pending reports that it will be. No lock held.
func (v *VHost) persist(msg *Message, qs []*Queue, done func(error)) (id uint64, pending bool, err error) {
	st := v.opts.Store
	if st == nil || !msg.persistent {
		return 0, false, nil
	}
	var buf [8]store.Target
	targets := buf[:0]
	for _, q := range qs {
		if q.sqid != 0 {
			targets = append(targets, store.Target{Queue: q.sqid})
		}
	}
	if len(targets) == 0 {
		return 0, false, nil
	}
	id = v.opts.NewMessageID()
	for i := range targets {
		targets[i].ID = id
	}
	if _, err := st.PublishTo(targets, encodeStored(msg, time.Now().UnixNano()), done); err != nil {
		v.log.Error(fmt.Sprintf("message store: cannot write a persistent message: %v", err))
		return 0, false, amqp.NewError(amqp.InternalError, "cannot write message to disk: %v", err)
	}
	return id, done != nil, nil
}

// gone settles e in the store: it has left q for good. q.mu held.
func (q *Queue) gone(e *entry) {
	if e.sid != 0 {
		q.unstore(e)
		_ = q.v.opts.Store.Ack(q.sqid, e.sid)
	}
}

// unstore takes e out of q's counts of stored messages. q.mu held.
func (q *Queue) unstore(e *entry) {
	if !q.deleted {
		q.stored--
		q.storedBytes -= e.msg.bodySize()
	}
}

// goneAll settles the stored messages among recs. q.mu held.
func (q *Queue) goneAll(recs []unackedRec) {
	if q.sqid == 0 {
		return
	}
	var ids []uint64
	for i := range recs {
		if recs[i].e.sid != 0 {
			q.unstore(&recs[i].e)
			ids = append(ids, recs[i].e.sid)
		}
	}
	if len(ids) > 0 {
		_ = q.v.opts.Store.Ack(q.sqid, ids...)
	}
}

// handedOut records that e went to a consumer: gone for a no-ack one,
// marked delivered for one that must ack. q.mu held.
func (q *Queue) handedOut(e *entry, noAck bool) {
	if e.sid == 0 {
		return
	}
	if noAck {
		q.gone(e)
		return
	}
	_ = q.v.opts.Store.Delivered(q.sqid, e.sid)
}

// Definitions are a vhost's durable topology: what survives a restart.
type Definitions struct {
	Exchanges []ExchangeDef
	Queues    []QueueDef
	Bindings  []BindingDef
}

// ExchangeDef is a durable exchange (the default and amq.* exchanges,
// which every vhost has, are left out).
type ExchangeDef struct {
	Name       string
	Type       string
	AutoDelete bool
	Internal   bool
	Arguments  amqp.Table
}

// QueueDef is a durable queue and the id its messages have in the store.
type QueueDef struct {
	Name       string
	StoreID    uint32
	AutoDelete bool
	Arguments  amqp.Table
}

// BindingDef is a binding between a durable source and a durable
// destination.
type BindingDef struct {
	Source          string
	Destination     string
	DestinationType string // "queue" or "exchange"
	RoutingKey      string
	Arguments       amqp.Table
}

// Definitions returns the durable topology, sorted.
func (v *VHost) Definitions() Definitions {
	var d Definitions
	for _, x := range v.Exchanges() {
		if x.Durable && x.Name != "" && !isBuiltinExchange(x.Name) {
			d.Exchanges = append(d.Exchanges, ExchangeDef{Name: x.Name, Type: x.Type, AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: x.Arguments})
		}
	}
	v.mu.RLock()
	for _, q := range v.queues {
		if q.durable && q.owner == nil {
			d.Queues = append(d.Queues, QueueDef{Name: q.name, StoreID: q.sqid, AutoDelete: q.autoDelete, Arguments: q.args})
		}
	}
	v.mu.RUnlock()
	slices.SortFunc(d.Queues, func(a, b QueueDef) int { return cmp.Compare(a.Name, b.Name) })
	for _, b := range v.Bindings() {
		if b.Source == "" || !v.durableEnds(b) {
			continue
		}
		d.Bindings = append(d.Bindings, BindingDef{Source: b.Source, Destination: b.Destination,
			DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: b.Arguments})
	}
	return d
}

// durableEnds reports whether both ends of b are durable.
func (v *VHost) durableEnds(b BindingInfo) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	src := v.exchanges[b.Source]
	if src == nil || !src.durable {
		return false
	}
	if b.DestinationType == "queue" {
		q := v.queues[b.Destination]
		return q != nil && q.durable && q.owner == nil
	}
	x := v.exchanges[b.Destination]
	return x != nil && x.durable
}

func isBuiltinExchange(name string) bool {
	switch name {
	case "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match":
		return true
	}
	return false
}

// topologyChanged marks the definitions for saving; called when a durable
// object was created or removed (any lock may be held).
func (v *VHost) topologyChanged() {
	if v.opts.SaveDefinitions != nil {
		v.defsDirty.Store(true)
	}
}

// saveDefinitions writes the definitions if they changed. No lock held.
func (v *VHost) saveDefinitions() error {
	if !v.defsDirty.Swap(false) {
		return nil
	}
	if err := v.opts.SaveDefinitions(); err != nil {
		v.defsDirty.Store(true)
		v.log.Error(fmt.Sprintf("cannot write definitions: %v", err))
		return amqp.NewError(amqp.InternalError, "cannot write definitions to disk: %v", err)
	}
	return nil
}

// Recovered counts what Restore brought back.
type Recovered struct {
	Exchanges, Queues, Bindings int
	Messages                    int
	// Unknown are store queue ids with messages but no durable queue: the
	// caller drops them from the store.
	Unknown []uint32
	// Err is set when the store could not read a queue's messages back (a
	// damaged record, a read error): the caller refuses to start, as it
	// does when Open finds damage, rather than go on without them.
	Err error
}

// Restore brings back a vhost's durable topology and the messages the
// store kept for its queues, in their order, those delivered before the
// stop marked redelivered, as RabbitMQ's recovery does. The messages are
// read from the store a chunk at a time and pass through the queue's
// paging window like new ones, so a backlog larger than memory comes back
// with memory bounded as it was before the stop. Call it on a new
// vhost before any connection uses it. Message TTL counts from the
// original publish. A definition that no longer declares cleanly is
// logged and skipped. With redeliverAll (the broker did not stop cleanly,
// so delivery marks may be lost) every message comes back redelivered.
func (v *VHost) Restore(d Definitions, msgs map[uint32]*store.RecoveredQueue, redeliverAll bool) Recovered {
	var r Recovered
	for _, x := range d.Exchanges {
		err := v.declareExchange(ExchangeSpec{Name: x.Name, Type: x.Type, Durable: true, AutoDelete: x.AutoDelete, Internal: x.Internal, Args: x.Arguments})
		if err != nil {
			v.log.Warn(fmt.Sprintf("cannot restore exchange '%s' in vhost '%s': %v", x.Name, v.name, err))
			continue
		}
		r.Exchanges++
	}
	known := make(map[uint32]bool, len(d.Queues))
	for _, qd := range d.Queues {
		if _, err := v.declareQueue(nil, QueueSpec{Name: qd.Name, Durable: true, AutoDelete: qd.AutoDelete, Args: qd.Arguments}); err != nil {
			v.log.Warn(fmt.Sprintf("cannot restore queue '%s' in vhost '%s': %v", qd.Name, v.name, err))
			continue
		}
		v.mu.RLock()
		q := v.queues[qd.Name]
		v.mu.RUnlock()
		q.sqid = qd.StoreID
		known[qd.StoreID] = true
		r.Queues++
		n, err := q.restoreMessages(msgs[qd.StoreID], redeliverAll)
		r.Messages += n
		if err != nil && r.Err == nil {
			r.Err = fmt.Errorf("queue '%s': %w", qd.Name, err)
		}
	}
	for id := range msgs {
		if !known[id] {
			r.Unknown = append(r.Unknown, id)
		}
	}
	for _, b := range d.Bindings {
		err := v.bind(bindRequest{src: b.Source, destKind: b.DestinationType, dest: b.Destination, key: b.RoutingKey, args: b.Arguments})
		if err != nil {
			v.log.Warn(fmt.Sprintf("cannot restore binding of '%s' to '%s' in vhost '%s': %v", b.Source, b.Destination, v.name, err))
			continue
		}
		r.Bindings++
	}
	v.defsDirty.Store(false)
	return r
}

// restoreMessages puts recovered messages at the tail of q (ready, each
// at the tail of its priority), and returns how many. A message that cannot be decoded is logged and
// settled; a record the store cannot read stops it with the error.
func (q *Queue) restoreMessages(rq *store.RecoveredQueue, redeliverAll bool) (int, error) {
	if rq == nil || rq.Len == 0 {
		return 0, nil
	}
	wall, mono := time.Now().UnixNano(), q.v.now()
	q.mu.Lock()
	defer q.unlock()
	n := 0
	err := rq.Each(func(m store.Message) error {
		msg, published, err := decodeStored(m.Data)
		if err != nil {
			q.v.log.Error(fmt.Sprintf("dropping unreadable message %d of queue '%s' in vhost '%s': %v", m.ID, q.name, q.v.name, err))
			_ = q.v.opts.Store.Ack(q.sqid, m.ID)
			return nil
		}
		e := entry{msg: msg, seq: q.nextSeq, sid: m.ID, redelivered: m.Delivered || redeliverAll, prio: q.priorityOf(msg)}
		if q.cfg.quorum && m.Delivered {
			// Delivered and not settled before the stop: RabbitMQ's quorum
			// queue returns it when the consumer's channel is found gone.
			e.deliveries = 1
		}
		q.nextSeq++
		if q.cfg.ttl >= 0 || msg.expirationMs >= 0 {
			// The deadline as if the message had entered the queue when it
			// was published: mono less the wall-clock time since then.
			e.expires = max(q.expiryFor(msg, mono-(wall-published)), 1)
		}
		q.pushReady(e)
		q.stored++
		q.storedBytes += msg.bodySize()
		n++
		return nil
	})
	q.dropOverLimit()
	q.dropExpired(0)
	return n, err
}
