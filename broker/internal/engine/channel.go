package engine

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/broker/vhost"
	"github.com/beatmq/beatmq/frames"
	"github.com/beatmq/beatmq/frames/erlterm"
)

// channel is one open AMQP channel of a connection.
//
// The reader goroutine owns everything but the send side: state, content
// assembly and the messaging state (msg) are touched only there. Sending goes
// through the connection's ordered send queue (send.go), which drops a
// channel's frames once its channel.close or close-ok has been written.
type channel struct {
	c        *Conn
	id       uint16
	frameMax uint32 // the connection's, fixed at tune-ok

	// Reader goroutine only.
	closing  bool // broker sent channel.close; waiting for close-ok
	released bool // releaseMessaging has run
	asm      asmState
	method   amqp.Method       // the content-bearing method being assembled
	pub      amqp.BasicPublish // storage for method when it is a basic.publish
	classID  uint16
	bodySize uint64
	propsLen int
	buf      []byte // properties followed by the body received so far
	msg      channelMessaging

	// sendClosed is set once nothing more may be sent on the channel; any
	// goroutine reads it.
	sendClosed atomic.Bool
	// view is msg.sess, for Conn.Channels on other goroutines;
	// unconfirmed counts the publishes not yet confirmed to the client.
	view        atomic.Pointer[vhost.Session]
	unconfirmed atomic.Int64
}

// asmState is where a channel is in assembling a content-bearing method
// (rabbit_command_assembler).
type asmState uint8

const (
	asmMethod asmState = iota // expecting a method frame
	asmHeader                 // expecting the content header
	asmBody                   // expecting body frames
)

// maxUpfrontBody is the largest body buffer allocated before the octets arrive.
const maxUpfrontBody = 1 << 20

// sendMethod sends m on the channel, in order with everything else sent on
// the connection. It may block on the socket: call it from the reader
// goroutine (the messaging hooks) or a goroutine that may block; queue
// goroutines use queueMethod. It returns errChannelClosed, writing nothing,
// once the channel no longer accepts frames.
func (ch *channel) sendMethod(m amqp.Method) error {
	if ch.sendClosed.Load() {
		return errChannelClosed
	}
	return ch.c.send(sendItem{ch: ch, kind: sendMethod, m: m})
}

// sendContent sends a content-bearing method (basic.get-ok, basic.return)
// with its content header and body, split at the negotiated frame_max, as
// one uninterrupted run of frames; props is the raw property list as
// received from the publisher. Blocking and errors as sendMethod. props and
// body must not change until the frames are written (messages are immutable).
func (ch *channel) sendContent(m amqp.Method, props, body []byte) error {
	if ch.sendClosed.Load() {
		return errChannelClosed
	}
	return ch.c.send(sendItem{ch: ch, kind: sendContent, m: m, props: props, body: body})
}

// queueDeliver queues basic.deliver d with its content, from any goroutine,
// without ever blocking (vhost.Sink.Deliver runs under queue locks). The
// connection's writer sends it in order and then reports it through
// messagingSent, also when it was dropped because the channel had closed.
func (ch *channel) queueDeliver(d *amqp.BasicDeliver, props, body []byte) {
	ch.c.enqueue(sendItem{ch: ch, kind: sendDeliver, counted: true, deliver: *d, props: props, body: body})
}

// queueContent is queueDeliver for another content-bearing method
// (basic.get-ok from a delivery). Reported through messagingSent.
func (ch *channel) queueContent(m amqp.Method, props, body []byte) {
	ch.c.enqueue(sendItem{ch: ch, kind: sendContent, counted: true, m: m, props: props, body: body})
}

// queueMethod queues m without blocking (basic.cancel for a consumer whose
// queue was deleted). Not reported through messagingSent.
func (ch *channel) queueMethod(m amqp.Method) {
	ch.c.enqueue(sendItem{ch: ch, kind: sendMethod, m: m})
}

// stopSending makes m (channel.close or close-ok) the last frame sent on the
// channel: it is sent in order, and anything queued behind it for the
// channel is dropped. Reader goroutine.
func (ch *channel) stopSending(m amqp.Method) error {
	return ch.c.send(sendItem{ch: ch, kind: sendClose, m: m})
}

// release runs releaseMessaging once. Reader goroutine.
func (ch *channel) release() {
	if ch.released {
		return
	}
	ch.released = true
	ch.buf = nil
	ch.releaseMessaging()
	if t := ch.c.set.Totals; t != nil {
		t.ChannelsClosed.Add(1) // rabbit_core_metrics:channel_closed/1
	}
}

// closeAllForSend stops every channel from sending: the connection is about
// to send connection.close or is gone. Reader goroutine.
func (c *Conn) closeAllForSend() {
	for _, ch := range c.channels {
		ch.sendClosed.Store(true)
	}
}

// channelFrame handles a frame on channel ch.Channel != 0 of a running
// connection (rabbit_reader:process_frame/3).
func (c *Conn) channelFrame(f frames.Frame) error {
	ch := c.lastCh
	if ch == nil || ch.id != f.Channel {
		if ch = c.channels[f.Channel]; ch == nil {
			return c.newChannelFrame(f)
		}
		c.lastCh = ch
	}
	return c.channelResult(ch, ch.frame(f))
}

// newChannelFrame handles a frame on a channel that is not open: RabbitMQ
// starts a channel process for any frame (create_channel/2, counting against
// channel_max), and that process accepts only channel.open.
func (c *Conn) newChannelFrame(f frames.Frame) error {
	if c.tuned.channelMax != 0 && len(c.channels) >= int(c.tuned.channelMax) {
		return c.connectionException(f.Channel, amqp.Errorf(amqp.NotAllowed, nil,
			"number of channels opened (%d) has reached the negotiated channel_max (%d)", len(c.channels), c.tuned.channelMax))
	}
	if f.Type != frames.TypeMethod {
		return c.connectionException(f.Channel, amqp.Errorf(amqp.UnexpectedFrame, nil,
			"expected method frame, got non method frame instead"))
	}
	m, err := c.dec.ReadMethod(f.Payload)
	if err != nil {
		return c.connectionException(f.Channel, amqp.AsError(err))
	}
	if _, ok := m.(*amqp.ChannelOpen); !ok {
		return c.connectionException(f.Channel, amqp.Errorf(amqp.ChannelError, m, "expected 'channel.open'"))
	}
	if c.channels == nil {
		c.channels = make(map[uint16]*channel)
	}
	ch := &channel{c: c, id: f.Channel, frameMax: c.tuned.frameMax}
	c.channels[f.Channel] = ch
	c.listChannel(ch)
	if t := c.set.Totals; t != nil {
		t.ChannelsOpened.Add(1) // rabbit_core_metrics:channel_created/2
	}
	return ch.sendMethod(&amqp.ChannelOpenOk{})
}

// channelResult turns what a channel handler returned into the connection's
// next step: soft errors close the channel, hard ones the connection.
func (c *Conn) channelResult(ch *channel, err error) error {
	if err == nil || errors.Is(err, errStop) {
		return err
	}
	if errors.Is(err, errChannelClosed) {
		return nil // a reply raced with a close: nothing to send
	}
	e := amqp.AsError(err)
	if e.Hard() {
		return c.connectionException(ch.id, e)
	}
	return ch.exception(e)
}

// exception closes the channel for a soft error
// (rabbit_channel:handle_exception/2): release its messaging state, log, send
// channel.close, and ignore everything but close-ok from then on.
func (ch *channel) exception(e *amqp.Error) error {
	c := ch.c
	ch.closing = true
	ch.asm, ch.method, ch.buf = asmMethod, nil, nil
	ch.release()
	vh := c.client.vhost
	c.log.Error(fmt.Sprintf("Channel error on connection %s (%s, vhost: '%s', user: '%s'), channel %d:\noperation %s caused a channel exception %s: %s",
		c.id, c.logName, vh, c.client.user, ch.id, erlterm.MethodAtom(amqp.MethodName(e.ClassID, e.MethodID)),
		erlterm.ErrorAtom(amqp.ReplyName(e.Code)), explanation(e)), logfmt.KeyChannel, ch.id)
	return ch.stopSending(e.ChannelClose())
}

// frame handles one frame on an open channel.
func (ch *channel) frame(f frames.Frame) error {
	if ch.closing {
		return ch.closingFrame(f)
	}
	switch ch.asm {
	case asmHeader:
		return ch.contentHeader(f)
	case asmBody:
		return ch.contentBody(f)
	}
	if f.Type != frames.TypeMethod {
		return amqp.Errorf(amqp.UnexpectedFrame, nil, "expected method frame, got non method frame instead")
	}
	m, err := ch.c.dec.ReadMethod(f.Payload)
	if err != nil {
		return err
	}
	if m.HasContent() {
		ch.startContent(m)
		return nil
	}
	return ch.handleMethod(m, nil, nil)
}

// closingFrame: after the broker's channel.close, everything on the channel
// is ignored until close-ok (rabbit_channel, state closing).
func (ch *channel) closingFrame(f frames.Frame) error {
	if f.Type != frames.TypeMethod {
		return nil
	}
	m, err := ch.c.dec.ReadMethod(f.Payload)
	if err != nil {
		return nil
	}
	switch m.(type) {
	case *amqp.ChannelCloseOk:
		ch.c.removeChannel(ch)
	case *amqp.ChannelClose:
		// Both sides closed at once; answer and keep waiting for close-ok.
		return ch.c.send(sendItem{ch: ch, kind: sendClose, m: &amqp.ChannelCloseOk{}})
	}
	return nil
}

func (c *Conn) removeChannel(ch *channel) {
	delete(c.channels, ch.id)
	if c.lastCh == ch {
		c.lastCh = nil
	}
	c.unlistChannel(ch)
}

// handleMethod handles a complete method on an open channel, with its
// content when it bears one (props and body are then the handler's to
// keep). It is the one place where an error gets the class and method ids
// of the method that caused it, as rabbit_channel stamps the method on the
// exceptions of handle_method/3: vhost and the handlers return *amqp.Error
// values naming no method. An error that names one already keeps it, and so
// does a contentError; other errors go to channelResult as they are.
func (ch *channel) handleMethod(m amqp.Method, props, body []byte) error {
	err := ch.dispatch(m, props, body)
	if err == nil {
		return nil // before e, which escapes: no allocation per method
	}
	var e *amqp.Error
	if !errors.As(err, &e) || errors.As(err, new(contentError)) {
		return err
	}
	return e.ForMethod(m)
}

// dispatch runs the handler of a complete method (see handleMethod).
func (ch *channel) dispatch(m amqp.Method, props, body []byte) error {
	if m.HasContent() {
		if p, ok := m.(*amqp.BasicPublish); ok {
			return ch.handlePublish(p, props, body)
		}
		return amqp.NewError(amqp.CommandInvalid, "unimplemented method")
	}
	switch m := m.(type) {
	case *amqp.ChannelOpen:
		return amqp.NewError(amqp.ChannelError, "second 'channel.open' seen")
	case *amqp.ChannelClose:
		// The client's close: release, forget the channel (its number may be
		// reused at once), then close-ok as the last frame on it.
		ch.release()
		ch.c.removeChannel(ch)
		return ch.stopSending(&amqp.ChannelCloseOk{})
	case *amqp.ChannelFlow:
		if !m.Active {
			return amqp.NewError(amqp.NotImplemented, "active=false")
		}
		return ch.sendMethod(&amqp.ChannelFlowOk{Active: true})
	}
	switch m.ClassID() {
	case 40, 50, 60, 85, 90: // exchange, queue, basic, confirm, tx
		return ch.handleMessagingMethod(m)
	}
	return amqp.NewError(amqp.CommandInvalid, "unimplemented method")
}

// startContent begins assembling a content-bearing method.
func (ch *channel) startContent(m amqp.Method) {
	if p, ok := m.(*amqp.BasicPublish); ok {
		ch.pub = *p // the Decoder reuses its value; keep a copy
		m = &ch.pub
	}
	ch.method, ch.classID, ch.asm = m, m.ClassID(), asmHeader
}

func (ch *channel) contentHeader(f frames.Frame) error {
	if f.Type != frames.TypeHeader {
		return amqp.Errorf(amqp.UnexpectedFrame, ch.method,
			"expected content header for class %d, got non content header frame instead", ch.classID)
	}
	classID, size, props, err := amqp.SplitContentHeader(f.Payload)
	switch {
	case errors.Is(err, amqp.ErrContentWeight):
		return amqp.Errorf(amqp.UnexpectedFrame, ch.method,
			"expected content header for class %d, got non content header frame instead", ch.classID)
	case err != nil:
		return err
	case classID != ch.classID:
		return amqp.Errorf(amqp.UnexpectedFrame, ch.method,
			"expected content header for class %d, got one for class %d instead", ch.classID, classID)
	}
	if max := ch.c.set.MaxMessageSize; max > 0 && size > uint64(max) {
		// RabbitMQ checks after assembly (rabbit_channel:check_msg_size/3);
		// beatmq refuses before buffering anything. The body frames that
		// follow are ignored by the closing channel.
		return amqp.Errorf(amqp.PreconditionFailed, ch.method,
			"message size %d is larger than configured max size %d", size, max)
	}
	ch.bodySize, ch.propsLen = size, len(props)
	ch.buf = make([]byte, len(props), len(props)+int(min(size, maxUpfrontBody)))
	copy(ch.buf, props)
	if size == 0 {
		return ch.contentComplete()
	}
	ch.asm = asmBody
	return nil
}

func (ch *channel) contentBody(f frames.Frame) error {
	if f.Type != frames.TypeBody {
		return amqp.Errorf(amqp.UnexpectedFrame, ch.method, "expected content body, got non content body frame instead")
	}
	have := uint64(len(ch.buf) - ch.propsLen)
	if uint64(len(f.Payload)) > ch.bodySize-have {
		// RabbitMQ 3.10.8 lets the count go negative and never completes the
		// message; later versions raise this error.
		return amqp.Errorf(amqp.FrameError, ch.method, "content body frame exceeds remaining content size")
	}
	ch.buf = append(ch.buf, f.Payload...)
	if uint64(len(ch.buf)-ch.propsLen) == ch.bodySize {
		return ch.contentComplete()
	}
	return nil
}

// contentComplete hands a fully assembled method to its handler. The
// properties and body slices are the receiver's to keep.
func (ch *channel) contentComplete() error {
	m, buf, np := ch.method, ch.buf, ch.propsLen
	ch.asm, ch.method, ch.buf = asmMethod, nil, nil
	return ch.handleMethod(m, buf[:np:np], buf[np:])
}
