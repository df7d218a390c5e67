package engine

import (
	"net"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames"
)

// handleFrame handles one well-formed frame (rabbit_reader:handle_frame/4).
// The frames.Reader has already answered malformed ones, a heartbeat on a
// channel other than 0 and content on channel 0.
func (c *Conn) handleFrame(f frames.Frame) error {
	if f.Type == frames.TypeHeartbeat {
		c.heartbeatReceived() // telemetry
		return nil            // accepted silently in every state; any octet counts
	}
	if f.Channel == 0 {
		return c.handleMethod0(f.Payload)
	}
	switch c.state {
	case StateRunning, StateBlocked:
		if err := c.channelFrame(f); err != nil {
			return err
		}
		if (f.Type == frames.TypeHeader || f.Type == frames.TypeBody) && c.state == StateRunning && c.host.Alarm() {
			return c.block()
		}
		return nil
	case StateClosed, StateClosing:
		return nil
	}
	// A frame on a channel before the connection is open.
	return c.connectionException(f.Channel, frameErrorToAMQP(frames.UnexpectedFrame(f)))
}

// block stops reading a publishing connection while a resource alarm is on
// (rabbit_reader:publish_received/1, maybe_block/1): connection.blocked if
// the client understands it, and the heartbeat receiver paused, since no
// octet will be read. The sender keeps going; its write errors are now the
// only sign of a dead peer.
func (c *Conn) block() error {
	c.setState(StateBlocked)
	c.updateInfo(func(in *ConnInfo) { in.Blocked = true })
	if c.monitor != nil {
		c.monitor.Pause()
	}
	if c.client.capBlocked && !c.blockedSent {
		c.blockedSent = true
		return c.send0(&amqp.ConnectionBlocked{Reason: "low on memory"})
	}
	return nil
}

// unblock resumes reading once the alarm is off (maybe_unblock/1).
func (c *Conn) unblock() error {
	c.setState(StateRunning)
	c.updateInfo(func(in *ConnInfo) { in.Blocked = false })
	if c.monitor != nil {
		c.monitor.Resume()
	}
	if c.blockedSent {
		c.blockedSent = false
		return c.send0(&amqp.ConnectionUnblocked{})
	}
	return nil
}

// waitBlocked waits, without reading, until the alarm clears, a close is
// requested or the socket is aborted.
func (c *Conn) waitBlocked() error {
	c.letGo()
	for c.state == StateBlocked {
		if !c.host.Alarm() {
			c.intr.Or(intrAlarm)
		}
		if c.intr.Load() != 0 {
			if err := c.handleInterrupts(); err != nil {
				return err
			}
			continue
		}
		c.ctl.mu.Lock()
		aborted := c.ctl.aborted
		c.ctl.mu.Unlock()
		if aborted != ReasonNone {
			return c.stop(c.classifyReadError(net.ErrClosed))
		}
		<-c.wake
	}
	return nil
}
