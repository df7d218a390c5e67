package engine

import "sync/atomic"

// Credit flow (RabbitMQ's credit_flow.erl, as rabbit_reader uses it): a
// publisher that outruns what is behind it is slowed by not reading its
// socket, so TCP pushes back on it, never by connection.blocked, which stays
// for resource alarms.
//
// In RabbitMQ the reader passes each publish on to a channel process and
// that to queue processes, each hop with a mailbox that can grow; every hop
// starts with 400 credits, spends one per message and is granted 200 more
// each time its receiver has processed 200. In beatmq a queue takes a
// message in the reader's own call (routing, the queue, paging to the
// queue's page file all happen before the next frame is read), so those
// hops cannot fall behind. The one stage that works behind the reader is
// the message store's writer, which makes persistent messages durable in
// batches: it is the receiver here, with RabbitMQ's figures. Every
// persistent message written for a durable queue spends one credit; the
// writer reports each write done, and every 200 done grant 200. At zero
// credit the reader, after the content frame that spent the last one,
// stops reading (publish_received/1 then maybe_block/1) until a grant
// comes: at most 400 messages of one connection wait for the disk.
//
// While the reader is held by flow, the heartbeat receiver is paused and
// the sender keeps going, exactly as for a resource alarm
// (rabbit_heartbeat:pause_monitor/1 on the move from running, resume_monitor/1
// with a fresh window on the way back), and no connection.blocked is sent.
const (
	initialCredit = 400 // credit_flow's default {InitialCredit, MoreCreditAfter}
	creditBump    = 200
)

// credit is one connection's credit with the message store's writer.
type credit struct {
	sent      int64        // messages handed to the store; reader goroutine only
	granted   atomic.Int64 // credit granted beyond the initial
	processed atomic.Int64 // writes the store reported done
	waiting   atomic.Bool  // the reader is held by flow: a grant must wake it
}

// exhausted reports whether the connection has no credit left. Reader
// goroutine only.
func (cr *credit) exhausted() bool {
	return cr.sent >= initialCredit+cr.granted.Load()
}

// spend records a message handed to the store. Reader goroutine only.
func (cr *credit) spend() { cr.sent++ }

// storeDone is the store's callback for a persistent message written for
// this connection: every creditBump of them grant as many again, and wake
// the reader if it waits for credit. Called on the store's writer goroutine
// (and, for confirms, through the channel's callback). It must not block.
func (c *Conn) storeDone(error) {
	if c.credit.processed.Add(1)%creditBump != 0 {
		return
	}
	c.credit.granted.Add(creditBump)
	if c.credit.waiting.Load() {
		c.post(intrFlow)
	}
}

// storeDoneFunc returns c.storeDone as a func value, made once. Reader
// goroutine only.
func (c *Conn) storeDoneFunc() func(error) {
	if c.storeDoneFn == nil {
		c.storeDoneFn = c.storeDone
	}
	return c.storeDoneFn
}

// mustBlock reports whether the reader must stop reading after a content
// frame: a resource alarm is on, or credit ran out. Reader goroutine only.
func (c *Conn) mustBlock() bool {
	return c.host.Alarm() || c.credit.exhausted()
}
