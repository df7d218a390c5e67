package vhost

import (
	"strings"
	"sync"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// entry is one message in a queue: ready, or out with a consumer (then it
// lives in the session's unacknowledged list until settled).
type entry struct {
	msg *Message
	// seq orders the queue: ready messages are always sorted by it, so a
	// requeued message goes back to where it was.
	seq uint64
	// expires is the VHost.now() deadline, 0 for never.
	expires     int64
	redelivered bool
	// deliveries counts the returns of the message to a quorum queue, its
	// x-delivery-count (queue_quorum.go).
	deliveries uint32
	// prio is the message's priority in a queue with x-max-priority (its
	// level in the ready messages), 0 in any other queue.
	prio uint8
	// sid is the message's id in the store for this queue, 0 when the
	// message is not stored (see durable.go).
	sid uint64
}

// Queue is one queue. The fields up to bindings never change after
// declaration; bindings is guarded by VHost.mu; the rest by mu.
type Queue struct {
	v          *VHost
	id         uint64
	name       string
	durable    bool
	autoDelete bool
	owner      *Conn // the connection of an exclusive queue
	args       amqp.Table
	qtype      *queueType // x-queue-type
	// cfg is what the arguments and the queue's policy ask for
	// (policy_apply.go); policy and the fields of cfg a policy sets change
	// with VHost.mu and mu both held, so either lock reads them.
	cfg    queueConfig
	policy *policy
	sqid   uint32 // the queue's id in the store; 0: its messages are not stored

	bindings map[*binding]struct{}

	mu                sync.Mutex
	deleted           bool
	stored            int        // messages (ready and unacked) kept in the store
	storedBytes       int64      // their body sizes
	ready             readyQueue // the ready messages, by priority (ready.go, page.go)
	unacked           int
	unackedBytes      int64 // body sizes of the unacked messages
	nextSeq           uint64
	consumers         []*consumer  // in consume order
	rr                consumerRing // those that can be offered a message, by priority
	exclusiveConsumer *consumer
	activeConsumer    *consumer // the single active consumer (x-single-active-consumer)
	hadConsumers      bool
	ttlTimer          *time.Timer
	ttlAt             int64
	expiryTimer       *time.Timer
	expiryGen         uint64
	dead              []deadLetter
}

// unlock releases q.mu and then publishes the messages dead-lettered while
// it was held.
func (q *Queue) unlock() {
	dead := q.dead
	q.dead = nil
	q.mu.Unlock()
	if len(dead) > 0 {
		q.v.publishDeadLetters(q, dead)
	}
}

func (q *Queue) deletedFlag() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.deleted
}

// QueueSpec is a queue.declare.
type QueueSpec struct {
	Name       string
	Passive    bool
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Args       amqp.Table
}

// QueueDeclared is what a queue.declare-ok reports.
type QueueDeclared struct {
	Name      string
	Messages  uint32
	Consumers uint32
}

// declareQueue is rabbit_channel's queue.declare handling. permit is as
// declareExchange's. conn is nil for the queues recovered at startup,
// which count neither as declared nor as created.
func (v *VHost) declareQueue(conn *Conn, spec QueueSpec, permit permitFunc) (QueueDeclared, error) {
	name := stripCRLF(spec.Name)
	if strings.HasPrefix(spec.Name, replyToQueue) {
		// Every declare of these names is passive (rabbit_channel).
		return v.declareReplyQueue(name)
	}
	if spec.Passive {
		v.mu.RLock()
		q := v.queues[name]
		v.mu.RUnlock()
		if q == nil {
			return QueueDeclared{}, v.notFound("queue", name)
		}
		if q.owner != nil && q.owner != conn {
			return QueueDeclared{}, v.resourceLocked(name)
		}
		return q.stat(), nil
	}
	var owner *Conn
	if spec.Exclusive {
		owner = conn
	}
	durable := spec.Durable && !spec.Exclusive
	if name == "" {
		if t := typeOf(spec.Args); !t.serverNamed {
			return QueueDeclared{}, precondition("Cannot declare a server-named queue for type %s", t.module)
		}
		name = genName("amq.gen")
	} else if strings.HasPrefix(name, "amq.") {
		return QueueDeclared{}, reservedName("queue", name)
	}
	if err := permit.check(Configure, "queue", name); err != nil {
		return QueueDeclared{}, err
	}
	if conn != nil {
		// rabbit_core_metrics:queue_declared/1, before the equivalence checks.
		v.stats.queuesDeclared.Add(1)
	}

	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return QueueDeclared{}, v.notFound("queue", name)
	}
	if q := v.queues[name]; q != nil {
		v.mu.Unlock()
		// rabbit_amqqueue:assert_equivalence/5.
		if q.owner != owner {
			return QueueDeclared{}, v.resourceLocked(name)
		}
		if q.durable != durable {
			return QueueDeclared{}, v.inequivalent("durable", "queue", name, formatBool(durable), formatBool(q.durable))
		}
		if q.autoDelete != spec.AutoDelete {
			return QueueDeclared{}, v.inequivalent("auto_delete", "queue", name, formatBool(spec.AutoDelete), formatBool(q.autoDelete))
		}
		if err := v.assertArgs("queue", name, q.args, spec.Args, q.qtype.queueArgs); err != nil {
			return QueueDeclared{}, err
		}
		return q.stat(), nil
	}
	if a, ok := spec.Args.Get("x-dead-letter-exchange"); ok {
		dlx, ok := a.(string)
		if !ok {
			v.mu.Unlock()
			return QueueDeclared{}, precondition("invalid type '%s' for arg '%s' in %s",
				typeName(a), "x-dead-letter-exchange", v.rs("queue", name))
		}
		// rabbit_channel, queue.declare of a new queue: its dead-letter
		// exchange needs read on the queue and write on the exchange.
		if err := permit.check(Read, "queue", name); err != nil {
			v.mu.Unlock()
			return QueueDeclared{}, err
		}
		if err := permit.check(Write, "exchange", dlx); err != nil {
			v.mu.Unlock()
			return QueueDeclared{}, err
		}
	}
	if err := v.checkDeclareArgs(name, spec.Args); err != nil {
		v.mu.Unlock()
		return QueueDeclared{}, err
	}
	qt := typeOf(spec.Args)
	if qt.replicated {
		if err := v.checkReplicated(name, durable, spec.Exclusive, spec.AutoDelete); err != nil {
			v.mu.Unlock()
			return QueueDeclared{}, err
		}
	}
	q := &Queue{
		v:          v,
		id:         v.newID(),
		name:       name,
		durable:    durable,
		autoDelete: spec.AutoDelete,
		owner:      owner,
		args:       spec.Args,
		qtype:      qt,
	}
	q.policy = v.matchPolicy(name, true)
	q.cfg = queueConfigFor(spec.Args, q.policy)
	if q.cfg.quorum {
		v.logQuorumFallbacks(q)
	}
	if durable && v.opts.Store != nil {
		q.sqid = v.opts.NewQueueID()
	}
	if durable {
		v.topologyChanged()
	}
	v.queues[name] = q
	if conn != nil {
		v.stats.queuesCreated.Add(1)
	}
	if owner != nil {
		if owner.exclusive == nil {
			owner.exclusive = make(map[*Queue]struct{})
		}
		owner.exclusive[q] = struct{}{}
	}
	q.mu.Lock()
	q.armExpiry()
	q.mu.Unlock()
	v.mu.Unlock()
	if owner != nil {
		// The connection may have closed while the queue was being made.
		owner.mu.Lock()
		gone := owner.closed
		owner.mu.Unlock()
		if gone {
			v.mu.Lock()
			cancels := v.deleteQueueLocked(q, nil)
			v.mu.Unlock()
			notifyCancelled(cancels)
		}
	}
	return QueueDeclared{Name: name}, nil
}

// stat is rabbit_amqqueue:stat/1 (ready messages and consumers); like
// RabbitMQ it counts as a use of the queue for x-expires.
func (q *Queue) stat() QueueDeclared {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.armExpiry()
	return QueueDeclared{Name: q.name, Messages: uint32(q.readyLen()), Consumers: uint32(len(q.consumers))}
}

// lookupQueue returns the queue called name, checking that conn may use
// it: 404 when missing, 405 when another connection holds it exclusively
// (rabbit_amqqueue:with_exclusive_access_or_die/3).
func (v *VHost) lookupQueue(conn *Conn, name string) (*Queue, error) {
	v.mu.RLock()
	q := v.queues[name]
	v.mu.RUnlock()
	if q == nil {
		return nil, v.notFound("queue", name)
	}
	if q.owner != nil && q.owner != conn {
		return nil, v.resourceLocked(name)
	}
	return q, nil
}

// deleteQueue is rabbit_channel's queue.delete handling: a missing queue is
// not an error and counts 0.
func (v *VHost) deleteQueue(conn *Conn, name string, ifUnused, ifEmpty bool) (uint32, error) {
	name = stripCRLF(name)
	v.mu.Lock()
	q := v.queues[name]
	if q == nil {
		v.mu.Unlock()
		return 0, nil
	}
	if q.owner != nil && q.owner != conn {
		v.mu.Unlock()
		return 0, v.resourceLocked(name)
	}
	if q.cfg.quorum {
		if err := v.checkQuorumDelete(name, ifUnused, ifEmpty); err != nil {
			v.mu.Unlock()
			return 0, err
		}
	}
	q.mu.Lock()
	empty, unused := q.readyLen() == 0, len(q.consumers) == 0
	count := uint32(q.readyLen())
	q.mu.Unlock()
	// rabbit_amqqueue_process: if-empty is checked before if-unused.
	if ifEmpty && !empty {
		v.mu.Unlock()
		return 0, precondition("%s not empty", v.rs("queue", name))
	}
	if ifUnused && !unused {
		v.mu.Unlock()
		return 0, precondition("%s in use", v.rs("queue", name))
	}
	cancels := v.deleteQueueLocked(q, nil)
	v.mu.Unlock()
	notifyCancelled(cancels)
	return count, nil
}

// cancelled is a consumer of a deleted queue, told once the locks are
// released.
type cancelled struct {
	c *consumer
}

// deleteQueueLocked deletes q: its messages are dropped, its consumers
// collected for cancellation, its bindings removed (auto-deleting exchanges
// left without bindings). v.mu held.
func (v *VHost) deleteQueueLocked(q *Queue, cancels []cancelled) []cancelled {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return cancels
	}
	q.deleted = true
	if !v.closed {
		v.stats.queuesDeleted.Add(1) // not the queues a closing vhost drops
	}
	q.clearReady()
	q.stored, q.storedBytes = 0, 0
	// A vhost that closes (the broker stops) keeps its durable queues on
	// disk: only a real deletion removes them.
	if q.sqid != 0 && !v.closed {
		_ = v.opts.Store.DeleteQueue(q.sqid)
	}
	if q.durable && !v.closed {
		v.topologyChanged()
	}
	for _, c := range q.consumers {
		cancels = append(cancels, cancelled{c: c})
	}
	q.consumers = nil
	q.rr.clear()
	q.exclusiveConsumer = nil
	q.activeConsumer = nil
	q.expiryGen++
	if q.ttlTimer != nil {
		q.ttlTimer.Stop()
	}
	if q.expiryTimer != nil {
		q.expiryTimer.Stop()
	}
	q.mu.Unlock()
	if v.queues[q.name] == q {
		delete(v.queues, q.name)
	}
	for b := range q.bindings {
		v.unlinkBinding(b, true)
	}
	if q.owner != nil && q.owner.exclusive != nil {
		delete(q.owner.exclusive, q)
	}
	return cancels
}

// notifyCancelled tells the sessions of a deleted queue's consumers, which
// send basic.cancel when the client asked for consumer_cancel_notify.
// Called with no lock held.
func notifyCancelled(cs []cancelled) {
	for _, c := range cs {
		c.c.s.consumerGone(c.c)
	}
}

// purgeQueue is queue.purge: the ready messages go, unacknowledged ones
// stay.
func (v *VHost) purgeQueue(conn *Conn, name string) (uint32, error) {
	q, err := v.lookupQueue(conn, name)
	if err != nil {
		return 0, err
	}
	q.mu.Lock()
	n := uint32(q.purgeReady())
	q.mu.Unlock()
	return n, nil
}

// maybeAutoDelete deletes q when it is auto-delete, has had a consumer and
// has none left (rabbit_amqqueue_process:should_auto_delete/1). No lock held.
func (v *VHost) maybeAutoDelete(q *Queue) {
	if !q.autoDelete || v.stopping.Load() {
		return
	}
	v.mu.Lock()
	q.mu.Lock()
	del := !q.deleted && q.hadConsumers && len(q.consumers) == 0
	q.mu.Unlock()
	var cancels []cancelled
	if del {
		v.log.Debug("auto-deleting queue", "queue", q.name, "vhost", v.name)
		cancels = v.deleteQueueLocked(q, nil)
	}
	v.mu.Unlock()
	notifyCancelled(cancels)
	_ = v.saveDefinitions() // logged there
}

// expiryFor is the deadline of a message entering q: the smaller of the
// queue's x-message-ttl and the message's expiration.
func (q *Queue) expiryFor(m *Message, now int64) int64 {
	ttl := q.cfg.ttl
	if m.expirationMs >= 0 && (ttl < 0 || m.expirationMs < ttl) {
		ttl = m.expirationMs
	}
	if ttl < 0 {
		return 0
	}
	return now + ttl*int64(time.Millisecond)
}

// publish puts msg into q (rabbit_amqqueue_process:deliver_or_enqueue/3):
// straight to a consumer when one can take it, else at the tail, then the
// head is dropped past x-max-length and expired messages go. It returns
// false when x-overflow refused the message. sid is the message's id in
// the store when persist wrote it for q (see durable.go). No lock held.
func (q *Queue) publish(msg *Message, sid uint64) bool {
	if q.sqid == 0 {
		sid = 0
	}
	e := entry{msg: msg, sid: sid, prio: q.priorityOf(msg)}
	q.mu.Lock()
	if sid != 0 {
		q.stored++ // gone undoes it if the queue does not keep e
		q.storedBytes += msg.bodySize()
	}
	if q.deleted {
		q.gone(&e)
		q.mu.Unlock()
		return true
	}
	size := msg.bodySize()
	if q.cfg.overflow != overflowDropHead && q.wouldOverflow(size) {
		if q.cfg.overflow == overflowRejectPublishDLX {
			q.deadLetter(msg, reasonMaxlen)
		}
		q.gone(&e)
		q.unlock()
		return false
	}
	e.seq = q.nextSeq
	if q.cfg.ttl >= 0 || msg.expirationMs >= 0 {
		e.expires = q.expiryFor(msg, q.v.now())
	}
	q.nextSeq++
	if q.readyLen() == 0 && q.rr.n > 0 && q.deliverToConsumer(&e) {
		q.unlock()
		return true
	}
	q.pushReady(e)
	q.dropOverLimit()
	q.dropExpired(0)
	q.unlock()
	return true
}

func (q *Queue) wouldOverflow(size int64) bool {
	return (q.cfg.maxLen >= 0 && int64(q.readyLen())+1 > q.cfg.maxLen) ||
		(q.cfg.maxBytes >= 0 && q.readyBytes()+size > q.cfg.maxBytes)
}

// dropOverLimit is maybe_drop_head/2 for x-overflow drop-head. In a
// priority queue the head is that of the highest priority, as
// rabbit_priority_queue:drop/2 takes it. q.mu held.
func (q *Queue) dropOverLimit() {
	if q.cfg.overflow != overflowDropHead {
		return
	}
	q.dropHeadOverLimit()
}

// dropHeadOverLimit drops head messages while the queue is over
// x-max-length or x-max-length-bytes, whatever its x-overflow. q.mu held.
func (q *Queue) dropHeadOverLimit() {
	if q.cfg.maxLen < 0 && q.cfg.maxBytes < 0 {
		return
	}
	for q.readyLen() > 0 &&
		((q.cfg.maxLen >= 0 && int64(q.readyLen()) > q.cfg.maxLen) ||
			(q.cfg.maxBytes >= 0 && q.readyBytes() > q.cfg.maxBytes)) {
		if !q.dropHead(reasonMaxlen) {
			return
		}
	}
}

// dropHead removes the head message, dead-lettering it when the queue has
// a dead-letter exchange; false when there is none. q.mu held.
func (q *Queue) dropHead(reason string) bool {
	e, ok := q.takeReady()
	if !ok {
		return false
	}
	q.gone(&e)
	q.deadLetter(e.msg, reason)
	return true
}

// dropExpired drops expired messages at the head (only the head expires, as
// in RabbitMQ; in a priority queue, the head of the highest priority, as
// rabbit_priority_queue:dropwhile/2 goes) and arms the timer for the next
// head. now 0 means read the clock. q.mu held.
func (q *Queue) dropExpired(now int64) {
	for {
		e := q.headReady()
		if e == nil {
			return
		}
		if e.expires == 0 {
			return
		}
		if now == 0 {
			now = q.v.now()
		}
		if e.expires > now {
			q.armTTL(e.expires, now)
			return
		}
		q.dropHead(reasonExpired)
	}
}

// armTTL makes the expiry timer fire at deadline, unless it is due earlier.
// q.mu held.
func (q *Queue) armTTL(deadline, now int64) {
	if q.ttlAt != 0 && q.ttlAt <= deadline {
		return
	}
	q.ttlAt = deadline
	d := time.Duration(deadline - now)
	if q.ttlTimer == nil {
		q.ttlTimer = time.AfterFunc(d, q.onTTL)
	} else {
		q.ttlTimer.Reset(d)
	}
}

func (q *Queue) onTTL() {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return
	}
	q.ttlAt = 0
	q.dropExpired(0)
	q.unlock()
}

// armExpiry (re)starts the x-expires countdown when q has no consumers
// (rabbit_amqqueue_process:ensure_expiry_timer/1). q.mu held.
func (q *Queue) armExpiry() {
	if q.cfg.expires <= 0 || q.deleted {
		return
	}
	q.expiryGen++
	if len(q.consumers) > 0 {
		if q.expiryTimer != nil {
			q.expiryTimer.Stop()
		}
		return
	}
	gen := q.expiryGen
	d := time.Duration(q.cfg.expires) * time.Millisecond
	if q.expiryTimer != nil {
		q.expiryTimer.Stop()
	}
	q.expiryTimer = time.AfterFunc(d, func() { q.v.expireQueue(q, gen) })
}

// expireQueue deletes q when its x-expires countdown gen ran out unused.
func (v *VHost) expireQueue(q *Queue, gen uint64) {
	if v.stopping.Load() {
		return
	}
	v.mu.Lock()
	q.mu.Lock()
	del := !q.deleted && q.expiryGen == gen && len(q.consumers) == 0
	q.mu.Unlock()
	var cancels []cancelled
	if del {
		cancels = v.deleteQueueLocked(q, nil)
	}
	v.mu.Unlock()
	notifyCancelled(cancels)
	_ = v.saveDefinitions() // logged there
}
