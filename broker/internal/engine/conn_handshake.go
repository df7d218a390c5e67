package engine

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/frames"
	"github.com/beatmq/beatmq/heartbeat"
)

// readProtocolHeader reads the 8-octet protocol header and answers it with
// connection.start, or with AMQP 0-9-1's header and a close when beatmq does
// not speak the version asked for (rabbit_reader:handshake/2,
// refuse_connection/2).
func (c *Conn) readProtocolHeader() error {
	var h [8]byte
	if _, err := io.ReadFull(inbound{c}, h[:]); err != nil {
		return err
	}
	major, minor, err := frames.ParseProtocolHeader(h)
	if err != nil {
		he := err.(*frames.HeaderError)
		_, _ = c.rw.Write(frames.ProtocolHeader[:])
		return c.stop(ending{ReasonBadHeader, slog.LevelError, fmt.Sprintf(
			"closing AMQP connection %s (%s):\n%s", c.id, c.logName, he.Reason())})
	}
	c.tuned.timeoutSec = 3 // ?NORMAL_TIMEOUT, the closing timeout until tune-ok
	c.setState(StateStarting)
	return c.send0(startMethod(c.set, major, minor, strings.Join(c.offeredMechanisms(), " ")))
}

// send0 writes a method on channel 0 from the reader goroutine (flushed when
// the reader next waits for input).
func (c *Conn) send0(m amqp.Method) error {
	return c.send(sendItem{kind: sendMethod, m: m})
}

// handleMethod0 handles a method on channel 0 (rabbit_reader:handle_method0).
func (c *Conn) handleMethod0(payload []byte) error {
	m, err := c.dec.ReadMethod(payload)
	if err != nil {
		return c.method0DecodeError(amqp.AsError(err))
	}
	switch c.state {
	case StateStarting:
		if so, ok := m.(*amqp.ConnectionStartOk); ok {
			return c.startOk(so)
		}
	case StateTuning:
		if to, ok := m.(*amqp.ConnectionTuneOk); ok {
			return c.tuneOk(to)
		}
	case StateOpening:
		if o, ok := m.(*amqp.ConnectionOpen); ok {
			return c.open(o)
		}
	case StateRunning, StateBlocked:
		switch m := m.(type) {
		case *amqp.ConnectionClose:
			return c.clientClose(m)
		case *amqp.ConnectionUpdateSecret:
			c.log.Info(fmt.Sprintf("connection %s (%s): user '%s' updated secret, reason: %s", c.id, c.logName, c.client.user, m.Reason))
			return c.send0(&amqp.ConnectionUpdateSecretOk{})
		}
	case StateClosed:
		switch m.(type) {
		case *amqp.ConnectionCloseOk:
			return c.stop(c.closedEnding(c.closedAs))
		case *amqp.ConnectionClose:
			// Both sides closed at once: answer, keep waiting for close-ok
			// or the peer's TCP close.
			return c.send0(&amqp.ConnectionCloseOk{})
		}
		return nil // everything else is ignored once closed
	}
	return c.connectionException(0, amqp.Errorf(amqp.ChannelError, m,
		"unexpected method in connection state %s", c.state))
}

// method0DecodeError handles a channel-0 method frame that does not decode.
func (c *Conn) method0DecodeError(e *amqp.Error) error {
	switch c.state {
	case StateClosed:
		return nil
	case StateTuning:
		// Any exit while tuning is logged as a failed negotiation
		// (rabbit_reader:log_connection_exception/3).
		if e.ClassID != 0 {
			return c.negotiationFailed(explanation(e))
		}
	}
	// RabbitMQ answers a decode error on channel 0 with 541 (its quirk #14b);
	// beatmq sends the decode error itself.
	return c.connectionException(0, e)
}

// startOk authenticates (rabbit_reader:handle_method0(start_ok), auth_phase/2).
func (c *Conn) startOk(so *amqp.ConnectionStartOk) error {
	baseName := c.logName
	if caps, ok := so.ClientProperties.Get("capabilities"); ok {
		if t, ok := caps.(amqp.Table); ok {
			c.client.clientCaps = t
			c.client.capBlocked = boolField(t, "connection.blocked")
			c.client.capAuthClose = boolField(t, "authentication_failure_close")
		}
	}
	// rabbit_reader:auth_mechanism_to_module/2
	switch {
	case slices.Contains(c.offeredMechanisms(), so.Mechanism):
	case c.mechanismRegistered(so.Mechanism):
		return c.connectionException(0, amqp.Errorf(amqp.CommandInvalid, so,
			"invalid authentication mechanism '%s'", so.Mechanism))
	default:
		return c.connectionException(0, amqp.Errorf(amqp.CommandInvalid, so,
			"unknown authentication mechanism '%s'", so.Mechanism))
	}
	if v, ok := so.ClientProperties.Get("connection_name"); ok {
		if name, ok := v.(string); ok {
			c.log.Info(fmt.Sprintf("connection %s (%s) has a client-provided name: %s", c.id, c.logName, name))
			c.client.clientName = name
			c.logName += " - " + name
			c.log = c.log.With(logfmt.KeyName, name)
		}
	}
	c.client.mechanism = so.Mechanism
	c.updateInfo(func(in *ConnInfo) {
		in.ClientName = c.client.clientName
		in.ClientProperties = so.ClientProperties
		in.AuthMechanism = so.Mechanism
	})
	var res authResult
	if so.Mechanism == "EXTERNAL" {
		res = c.authenticateExternal()
	} else {
		res = authenticate(c.set, c.host.Login, so.Mechanism, []byte(so.Response), c.nc.RemoteAddr())
	}
	switch {
	case res.syntax:
		return c.connectionException(0, amqp.Errorf(amqp.SyntaxError, so, "%s", res.msg))
	case res.refused:
		if t := c.set.Totals; t != nil {
			t.AuthFailed.Add(1)
		}
		return c.authFailed(baseName, so, res)
	}
	if t := c.set.Totals; t != nil {
		t.AuthSucceeded.Add(1)
	}
	c.client.user = res.user
	c.updateInfo(func(in *ConnInfo) { in.User = res.user })
	c.setState(StateTuning)
	return c.send0(&amqp.ConnectionTune{
		ChannelMax: c.set.ChannelMax,
		FrameMax:   c.set.FrameMax,
		Heartbeat:  c.set.Heartbeat,
	})
}

// authFailed is rabbit_reader:auth_fail/5 and the starting clause of
// handle_exception/3: with the authentication_failure_close capability the
// client gets 403 with a message that hides the details, which go to the log;
// then the connection waits in the closed state for close-ok.
//
// RabbitMQ 3.10.8 then sends a second connection.close carrying the detailed
// text; beatmq sends only the first.
func (c *Conn) authFailed(baseName string, so *amqp.ConnectionStartOk, res authResult) error {
	c.log.Error(fmt.Sprintf("Error on AMQP connection %s (%s, state: starting):\n%s login refused: %s",
		c.id, baseName, so.Mechanism, res.msg), logfmt.KeyUser, res.user)
	if c.client.capAuthClose {
		if err := c.send0(amqp.Errorf(amqp.AccessRefused, nil,
			"Login was refused using authentication mechanism %s. For details see the broker logfile.",
			so.Mechanism).ConnectionClose()); err != nil {
			return err
		}
	}
	c.enterClosed(ReasonAuthFailed, amqp.AccessRefused, so.Mechanism+" login refused: "+res.msg)
	return nil
}

// tuneOk validates the client's tune-ok (validate_negotiated_integer_value/3,
// only for frame_max and channel_max; the heartbeat is taken verbatim, 0..65535)
// and starts the heartbeat monitor: at tune-ok, not at open.
func (c *Conn) tuneOk(to *amqp.ConnectionTuneOk) error {
	if _, err := heartbeat.Negotiate("frame_max", c.set.FrameMax, to.FrameMax, frames.MinFrameMax); err != nil {
		return c.negotiationFailed(err.Error())
	}
	if _, err := heartbeat.Negotiate("channel_max", c.set.ChannelMax, to.ChannelMax, 1); err != nil {
		return c.negotiationFailed(err.Error())
	}
	c.tuned.frameMax, c.tuned.channelMax, c.tuned.timeoutSec = to.FrameMax, to.ChannelMax, to.Heartbeat
	c.rd.SetFrameMax(to.FrameMax)
	c.updateInfo(func(in *ConnInfo) {
		in.Heartbeat, in.FrameMax, in.ChannelMax = to.Heartbeat, to.FrameMax, to.ChannelMax
	})
	c.setState(StateOpening)
	if to.Heartbeat > 0 {
		interval := c.unit(int(to.Heartbeat))
		c.monitor = heartbeat.Start(heartbeat.Config{
			Interval:      interval,
			Counters:      c.cc,
			SendHeartbeat: c.sendHeartbeat, // the Writer's, unless a fault mutes it
			OnTimeout:     c.onHeartbeatTimeout,
			OnSendError:   c.onHeartbeatSendError,
			Coalesce:      heartbeat.CoalesceFor(interval),
			Unread:        c.cc.Unread,
			Late:          time.Duration(c.set.HeartbeatWarn * float64(interval)),
			LastReceived:  c.lastReceived,
			OnLate:        c.onLate,
			PeerAcks:      c.cc.PeerAcks,
			OnUnreachable: c.onPeerUnreachable,
		})
	}
	return nil
}

// negotiationFailed: no connection.close (the spec's "close without a
// negotiated close"), 3 s of silence, then the socket is closed.
func (c *Conn) negotiationFailed(explanation string) error {
	c.sleep(c.silentCloseDelay())
	return c.stop(ending{ReasonNegotiationFailed, slog.LevelError, fmt.Sprintf(
		"closing AMQP connection %s (%s):\nfailed to negotiate connection parameters: %s", c.id, c.logName, explanation)})
}

// open is handle_method0(connection.open).
func (c *Conn) open(o *amqp.ConnectionOpen) error {
	// rabbit_access_control:check_vhost_access/4: the vhost, then a
	// permission in it.
	vh := c.host.VHost(o.VirtualHost)
	var e *amqp.Error
	if vh == nil {
		e = amqp.Errorf(amqp.NotAllowed, o, "vhost %s not found", o.VirtualHost)
	} else if !c.host.VHostAccess(c.client.user, o.VirtualHost) {
		e = amqp.Errorf(amqp.NotAllowed, o, "access to vhost '%s' refused for user '%s'", o.VirtualHost, c.client.user)
	}
	if e != nil {
		c.log.Error(fmt.Sprintf("Error on AMQP connection %s (%s, user: '%s', state: opening):\n%s",
			c.id, c.logName, c.client.user, explanation(e)), logfmt.KeyVHost, o.VirtualHost)
		return c.closeWith(e, ReasonConnectionError)
	}
	c.client.vh = vh
	if err := c.send0(&amqp.ConnectionOpenOk{}); err != nil {
		return err
	}
	c.client.vhost = o.VirtualHost
	c.setDeadline(time.Time{}) // the handshake timer no longer applies
	c.setState(StateRunning)
	if t := c.set.Totals; t != nil {
		t.ConnectionsOpened.Add(1) // rabbit_core_metrics:connection_created/2
	}
	c.updateInfo(func(in *ConnInfo) { in.VHost = o.VirtualHost })
	c.log.Info(fmt.Sprintf("connection %s (%s): user '%s' authenticated and granted access to vhost '%s'",
		c.id, c.logName, c.client.user, c.client.vhost), logfmt.KeyUser, c.client.user, logfmt.KeyVHost, c.client.vhost)
	return nil
}

func boolField(t amqp.Table, name string) bool {
	v, ok := t.Get(name)
	b, isBool := v.(bool)
	return ok && isBool && b
}
