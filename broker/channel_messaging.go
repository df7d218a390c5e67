package broker

import "github.com/beatmq/beatmq/amqp"

// This file is the seam between the connection core and messaging (vhosts,
// exchanges, queues, consumers, confirms, transactions). Everything the core
// calls is here; the messaging side replaces these stubs and fills the three
// state structs.
//
// Threading (see doc.go): every hook runs on the connection's reader
// goroutine, one at a time per connection; replies go out with
// ch.sendMethod / ch.sendContent. Deliveries from other goroutines use
// ch.queueDeliver / ch.queueContent / ch.queueMethod, which never block and
// keep the channel's frame order; see send.go.

// serverMessaging is the Server's messaging state (vhost registry...).
type serverMessaging struct{}

// connMessaging is a connection's messaging state (exclusive queues...).
type connMessaging struct{}

// channelMessaging is a channel's messaging state (consumers, unacked
// deliveries, confirm and tx mode...).
type channelMessaging struct{}

// initMessaging is called once by New.
func (s *Server) initMessaging() error { return nil }

// vhostExists decides connection.open: an unknown vhost gets 530 NOT_ALLOWED
// "vhost x not found".
func (s *Server) vhostExists(name string) bool { return s.set.vhosts[name] }

// handleMessagingMethod handles a method of the exchange (40), queue (50),
// basic (60, all but basic.publish), confirm (85) or tx (90) class that
// arrived on an open channel. Replies go out with ch.sendMethod.
//
// A returned *amqp.Error closes the channel (soft code: channel.close) or the
// connection (hard code: connection.close), logged as RabbitMQ does; any
// other error closes the connection with 541 INTERNAL_ERROR.
//
// m may be a value the connection's amqp.Decoder reuses (basic.ack, nack,
// reject): copy what must outlive the call.
func (ch *channel) handleMessagingMethod(m amqp.Method) error {
	return amqp.Errorf(amqp.NotImplemented, m, "%s is not implemented", m.Name())
}

// handlePublish handles a complete basic.publish: method, raw content
// properties (decode with amqp.DecodeProperties if needed) and body. props and
// body belong to the callee from now on (one allocation per message; keep
// them without copying); pub is valid only during the call. Errors as for
// handleMessagingMethod.
func (ch *channel) handlePublish(pub *amqp.BasicPublish, props, body []byte) error {
	return amqp.Errorf(amqp.NotImplemented, pub, "%s is not implemented", pub.Name())
}

// releaseMessaging is called exactly once per channel, on the reader
// goroutine, when the channel stops: client channel.close, a channel error
// (before the broker's channel.close goes out), connection.close from either
// side, missed heartbeats, a socket error, shutdown. Requeue unacked messages
// (redelivered), cancel consumers. By then sendMethod/sendContent may already
// refuse to write.
func (ch *channel) releaseMessaging() {}

// messagingSent reports that n items queued on the channel with
// queueDeliver or queueContent have been written (or dropped because the
// channel or connection closed). It runs on the connection's writer, never
// inside queueDeliver: the place to call vhost's Session.Sent.
func (ch *channel) messagingSent(n int) {}

// releaseConnMessaging is called once per connection, after every channel's
// releaseMessaging, when the close handshake starts (either side's
// connection.close, as RabbitMQ's close_connection/1) or, failing that, when
// the socket is gone: delete the connection's exclusive queues. Channels
// opened later (none can be: the connection is closing) would not be seen.
func (c *conn) releaseConnMessaging() {}
