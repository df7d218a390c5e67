package engine

import (
	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost"
)

// This file is the seam between the connection core and messaging (vhosts,
// exchanges, queues, consumers, confirms, transactions). Everything the core
// calls is here; the methods map onto broker/vhost in the channel_*.go files.
//
// Threading (see doc.go): every hook runs on the connection's reader
// goroutine, one at a time per connection; replies go out with
// ch.sendMethod / ch.sendContent. Deliveries from other goroutines use
// ch.queueDeliver / ch.queueContent / ch.queueMethod, which never block and
// keep the channel's frame order; see send.go.

// connMessaging is a connection's messaging state. Reader goroutine only.
type connMessaging struct {
	// vc is the connection in its vhost, the owner of its exclusive queues;
	// made by the first channel that needs a session.
	vc *vhost.Conn
	// dirty are the channels holding publisher confirms not yet sent, or
	// publish counts not yet visible to metrics; both are flushed when the
	// reader is about to block (flushMessaging): once per batch of input,
	// not per message.
	dirty []*channel
}

// channelMessaging is a channel's messaging state. Reader goroutine only,
// except sess, which the writer reads (messagingSent) after it is set.
type channelMessaging struct {
	sess *vhost.Session // nil until the first messaging method

	// Publisher confirms: pubSeq numbers the publishes since confirm.select
	// (from 1); confirmFirst..confirmLast is the run of publishes confirmed
	// but not yet acknowledged on the wire (0 when none).
	confirm      bool
	pubSeq       uint64
	confirmFirst uint64
	confirmLast  uint64
	dirty        bool // listed in conn.msg.dirty
	counted      bool // the session counted publishes since the last flush

	// durable holds the confirms and commit-oks waiting for the store
	// (channel_durable.go).
	durable durableWaits
}

// UnsentLimit is vhost.Options.UnsentLimit: a channel with this many
// deliveries queued and not yet written gets no more until the writer
// catches up, so a slow consumer socket holds back its own consumers only.
const UnsentLimit = 2048

// handleMessagingMethod handles a method of the exchange (40), queue (50),
// basic (60, all but basic.publish), confirm (85) or tx (90) class that
// arrived on an open channel. Replies go out with ch.sendMethod.
//
// A returned *amqp.Error closes the channel (soft code: channel.close) or the
// connection (hard code: connection.close), logged as RabbitMQ does, with
// m's class and method ids unless it names a method already (see
// handleMethod); any other error closes the connection with 541
// INTERNAL_ERROR.
//
// m may be a value the connection's amqp.Decoder reuses (basic.ack, nack,
// reject): copy what must outlive the call.
func (ch *channel) handleMessagingMethod(m amqp.Method) error {
	switch m.ClassID() {
	case amqp.ClassExchange:
		return ch.exchangeMethod(m)
	case amqp.ClassQueue:
		return ch.queueMethodCall(m)
	case amqp.ClassBasic:
		return ch.basicMethod(m)
	case amqp.ClassConfirm, amqp.ClassTx:
		return ch.confirmTxMethod(m)
	}
	return amqp.NewError(amqp.CommandInvalid, "unimplemented method")
}

// handlePublish handles a complete basic.publish: method, raw content
// properties (decode with amqp.DecodeProperties if needed) and body. props and
// body belong to the callee from now on (one allocation per message; keep
// them without copying); pub is valid only during the call. Errors as for
// handleMessagingMethod.
func (ch *channel) handlePublish(pub *amqp.BasicPublish, props, body []byte) error {
	return ch.publish(pub, props, body)
}

// counting notes that the channel's session counted publishes (a publish,
// a commit): flushMessaging will make them visible. Reader goroutine.
func (ch *channel) counting() {
	ch.msg.counted = true
	ch.markDirty()
}

// markDirty lists the channel for the next flushMessaging. Reader
// goroutine.
func (ch *channel) markDirty() {
	if !ch.msg.dirty {
		ch.msg.dirty = true
		ch.c.msg.dirty = append(ch.c.msg.dirty, ch)
	}
}

// releaseMessaging is called exactly once per channel, on the reader
// goroutine, when the channel stops: client channel.close, a channel error
// (before the broker's channel.close goes out), connection.close from either
// side, missed heartbeats, a socket error, shutdown. Confirms already earned
// go out if the channel may still send; then the session closes: consumers
// cancelled, unacked messages requeued (redelivered, in order).
func (ch *channel) releaseMessaging() {
	ch.flushConfirms()
	if s := ch.msg.sess; s != nil {
		s.Close()
	}
}

// messagingSent reports that n items queued on the channel with
// queueDeliver or queueContent have been written (or dropped because the
// channel or connection closed). It runs on the connection's writer, never
// inside queueDeliver: the place to call vhost's Session.Sent.
func (ch *channel) messagingSent(n int) {
	if s := ch.msg.sess; s != nil {
		s.Sent(n)
	}
}

// releaseConnMessaging is called once per connection, after every channel's
// releaseMessaging, when the close handshake starts (either side's
// connection.close, as RabbitMQ's close_connection/1) or, failing that, when
// the socket is gone: delete the connection's exclusive queues.
func (c *Conn) releaseConnMessaging() {
	c.msg.dirty = nil
	if c.msg.vc != nil {
		c.msg.vc.Close()
	}
}

// session returns the channel's vhost session, opening it on first use.
func (ch *channel) session() *vhost.Session {
	if ch.msg.sess == nil {
		c := ch.c
		if c.msg.vc == nil {
			c.msg.vc = c.client.vh.ConnectWith(c.client.user, c.host.Access(c.client.user, c.client.vhost), c.host.Impersonator(c.client.user))
		}
		ch.msg.sess = c.msg.vc.NewSession(sink{ch: ch, cancelNotify: c.clientCapability("consumer_cancel_notify")})
		ch.view.Store(ch.msg.sess)
	}
	return ch.msg.sess
}

// flushMessaging sends what messaging held back for the moment the reader
// has nothing more to read: the publisher confirms earned by the publishes
// just handled, coalesced into one basic.ack per channel as RabbitMQ does,
// and the publish counts for metrics (vhost.Session.FlushCounts). Reader
// goroutine, holding the outbox.
func (c *Conn) flushMessaging() {
	if len(c.msg.dirty) == 0 {
		return
	}
	for i, ch := range c.msg.dirty {
		ch.msg.dirty = false
		ch.flushConfirms()
		if ch.msg.counted {
			ch.msg.counted = false
			ch.msg.sess.FlushCounts()
		}
		c.msg.dirty[i] = nil
	}
	c.msg.dirty = c.msg.dirty[:0]
}
