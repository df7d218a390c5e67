package engine

import (
	"net"
	"strings"

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
		if (f.Type == frames.TypeHeader || f.Type == frames.TypeBody) && c.state == StateRunning && c.mustBlock() {
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
// or its credit has run out (rabbit_reader:publish_received/1,
// maybe_block/1): the heartbeat receiver paused, since no octet will be
// read, and for an alarm connection.blocked if the client understands it.
// The sender keeps going; its write errors are now the only sign of a dead
// peer.
func (c *Conn) block() error {
	c.credit.waiting.Store(true) // before the wait looks at the credit again
	c.setState(StateBlocked)
	if c.monitor != nil {
		c.monitor.Pause()
	}
	return c.blockedBy()
}

// blockedBy brings what the client and the management API see up to date
// with why the reader is held: connection.blocked while a resource alarm is
// among the reasons, connection.unblocked once only flow is left (RabbitMQ
// sends them for alarms only), and the state RabbitMQ shows, "blocked" or
// "flow". Reader goroutine only, while blocked.
func (c *Conn) blockedBy() error {
	alarm := c.host.Alarm()
	c.updateInfo(func(in *ConnInfo) { in.Blocked, in.Flow = true, !alarm })
	switch {
	case alarm && c.client.capBlocked && !c.blockedSent:
		c.blockedSent = true
		return c.send0(&amqp.ConnectionBlocked{Reason: blockedReason(c.host.AlarmResources())})
	case !alarm && c.blockedSent:
		c.blockedSent = false
		return c.send0(&amqp.ConnectionUnblocked{})
	}
	return nil
}

// blockedReason is connection.blocked's reason for the resource alarms in
// effect (rabbit_reader:blocked_by_message/1): "low on memory", "low on
// disk", "low on disk & memory". With none left (the alarm cleared while the
// frame was handled) it names memory, the reason of the single alarm of
// earlier versions.
func blockedReason(resources []string) string {
	if len(resources) == 0 {
		return "low on memory"
	}
	return "low on " + strings.Join(resources, " & ")
}

// unblock resumes reading once the alarm is off and credit is back
// (maybe_unblock/1).
func (c *Conn) unblock() error {
	c.credit.waiting.Store(false)
	c.setState(StateRunning)
	c.updateInfo(func(in *ConnInfo) { in.Blocked, in.Flow = false, false })
	if c.monitor != nil {
		c.monitor.Resume()
	}
	if c.blockedSent {
		c.blockedSent = false
		return c.send0(&amqp.ConnectionUnblocked{})
	}
	return nil
}

// waitBlocked waits, without reading, until the alarm clears and credit is
// back, a close is requested or the socket is aborted.
func (c *Conn) waitBlocked() error {
	c.letGo()
	for c.state == StateBlocked {
		if !c.mustBlock() {
			c.intr.Or(intrAlarm)
		} else if err := c.blockedBy(); err != nil {
			return err
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
