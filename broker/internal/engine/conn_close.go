package engine

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/frames"
	"github.com/beatmq/beatmq/frames/erlterm"
)

// explanation is the text of e without the "NAME - " prefix: what RabbitMQ
// keeps in #amqp_error.explanation and logs.
func explanation(e *amqp.Error) string {
	if name := amqp.ReplyName(e.Code); name != "" {
		if rest, ok := strings.CutPrefix(e.Text, name+" - "); ok {
			return rest
		}
	}
	return e.Text
}

// amqpErrorTerm renders e as RabbitMQ's #amqp_error record:
// {amqp_error,channel_error,"unexpected method in connection state tuning",'connection.open'}.
func amqpErrorTerm(e *amqp.Error) string {
	return fmt.Sprintf("{amqp_error,%s,%s,%s}", erlterm.ErrorAtom(amqp.ReplyName(e.Code)), erlterm.String(explanation(e)),
		erlterm.Atom(erlterm.MethodAtom(amqp.MethodName(e.ClassID, e.MethodID))))
}

// frameErrorToAMQP turns a frames.Error into the exception RabbitMQ raises:
// no method, so class and method 0.
func frameErrorToAMQP(fe *frames.Error) *amqp.Error {
	name := amqp.ReplyName(fe.Code)
	return &amqp.Error{Code: fe.Code, Text: name + " - " + fe.Explanation}
}

// connectionException is rabbit_reader:handle_exception/3 for an error that
// closes the connection, raised on channel ch, in whatever state the
// connection is.
func (c *Conn) connectionException(ch uint16, e *amqp.Error) error {
	switch c.state {
	case StateRunning, StateBlocked, StateClosing:
		c.logHardError(ch, hardErrorText(e))
		return c.closeWith(e, ReasonConnectionError)
	case StateOpening:
		c.logHardError(ch, fmt.Sprintf("{handshake_error,opening,%s}", amqpErrorTerm(e)))
		return c.closeWith(e, ReasonHandshakeError)
	case StateClosed:
		c.logHardError(ch, hardErrorText(e))
		return nil
	}
	// Before tune-ok RabbitMQ does not trust the client: no close method,
	// 3 s of silence, then the socket is closed.
	c.sleep(c.silentCloseDelay())
	return c.stop(ending{ReasonHandshakeError, slog.LevelError, fmt.Sprintf(
		"closing AMQP connection %s (%s):\n{handshake_error,%s,%d,%s}", c.id, c.logName, c.state, ch, amqpErrorTerm(e))})
}

// hardErrorText is rabbit_reader:format_hard_error/1 for an #amqp_error.
func hardErrorText(e *amqp.Error) string {
	return fmt.Sprintf("operation %s caused a connection exception %s: %s",
		erlterm.MethodAtom(amqp.MethodName(e.ClassID, e.MethodID)), erlterm.ErrorAtom(amqp.ReplyName(e.Code)), erlterm.String(explanation(e)))
}

// logHardError is rabbit_reader:log_hard_error/3.
func (c *Conn) logHardError(ch uint16, text string) {
	vh := c.client.vhost
	if vh == "" {
		vh = "none"
	}
	c.log.Error(fmt.Sprintf("Error on AMQP connection %s (%s, vhost: '%s', user: '%s', state: %s), channel %d:\n %s",
		c.id, c.logName, vh, c.client.user, c.state, ch, text), logfmt.KeyChannel, ch)
}

// closeWith sends connection.close for e and waits for close-ok
// (rabbit_reader:send_error_on_channel0_and_close/4): the channels are
// terminated first, then the close goes out and the closing timer starts.
func (c *Conn) closeWith(e *amqp.Error, reason CloseReason) error {
	c.enterClosed(reason, e.Code, e.Text)
	return c.send0(e.ConnectionClose())
}

// enterClosed is rabbit_reader:close_connection/1: release every channel,
// move to the closed state and arm the closing timer (T if 0 < T < 30, else
// 30 s). Heartbeats keep flowing; missed ones no longer matter.
func (c *Conn) enterClosed(reason CloseReason, code uint16, text string) {
	c.closeAllForSend()
	c.releaseAll() // RabbitMQ deletes exclusive queues here too (close_connection/1)
	c.closedAs = reason
	c.setState(StateClosed)
	c.setDeadline(time.Now().Add(c.closingTimeout()))
	c.updateInfo(func(in *ConnInfo) {
		c.unlistChannelsLocked()
		in.CloseCode, in.CloseText = code, text
		in.Reason = reason
	})
}

// clientClose answers the client's connection.close: channels are shut down,
// close-ok goes out, and the broker waits for the client to close TCP (or the
// closing timer), as RabbitMQ does.
func (c *Conn) clientClose(m *amqp.ConnectionClose) error {
	c.flushQueued(c.closingTimeout())
	c.setState(StateClosing)
	c.enterClosed(ReasonClientClose, m.ReplyCode, m.ReplyText)
	return c.send0(&amqp.ConnectionCloseOk{})
}

// forceClose is rabbit_reader:terminate/2, for Shutdown and operators: an
// open connection gets connection.close (320 CONNECTION_FORCED) and the
// close handshake; any other is stopped at once.
func (c *Conn) forceClose(code uint16, text string, reason CloseReason) error {
	if c.state == StateRunning || c.state == StateBlocked {
		e := &amqp.Error{Code: code, Text: text}
		c.logHardError(0, hardErrorText(e))
		if c.monitor != nil && c.state == StateBlocked {
			c.monitor.Resume()
		}
		return c.closeWith(e, reason)
	}
	if c.state == StateClosed {
		reason = c.closedAs // already closing: the close handshake's reason stands
	}
	return c.stop(c.closedEnding(reason))
}

// fatalFrameError is rabbit_reader:fatal_frame_error/5: the close goes out,
// then 3 s of grace whatever the client does, then the socket is closed.
func (c *Conn) fatalFrameError() error {
	c.sleep(c.silentCloseDelay())
	return c.stop(ending{ReasonFrameError, slog.LevelError, fmt.Sprintf(
		"closing AMQP connection %s (%s):\nfatal_frame_error", c.id, c.logName)})
}

// frameError answers an error reported by the frames.Reader (rabbitmq-observed.md §3).
func (c *Conn) frameError(f frames.Frame, fe *frames.Error) error {
	e := frameErrorToAMQP(fe)
	switch c.state {
	case StateClosed:
		// A stopping connection ignores frames; only losing sync matters.
		if !fe.Fatal {
			return nil
		}
		c.logHardError(fe.Channel, hardErrorText(e))
		return c.fatalFrameError()
	case StateStarting, StateTuning:
		return c.connectionException(fe.Channel, e)
	}
	if err := c.connectionException(fe.Channel, e); err != nil || !fe.Fatal {
		return err
	}
	return c.fatalFrameError()
}
