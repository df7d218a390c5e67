package engine

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/beatmq/beatmq/frames"
)

// The read loop: the reader goroutine, its hand-overs to fresh goroutines,
// the outbox hold it keeps while busy, and how other goroutines interrupt it.

// serve runs the connection on its reader goroutine until it ends or hands
// the read loop over to a fresh goroutine (see errFreshStack).
func (c *Conn) serve() {
	c.loop.holding = true // released (flushing) whenever the reader is about to block
	c.out.hold()
	c.setDeadline(c.loop.handshakeEnd)
	err := c.readProtocolHeader()
	if err == nil {
		err = c.run()
	}
	c.finish(err)
}

// finish ends the reader goroutine: it either starts the next one
// (errFreshStack) or tears the connection down.
func (c *Conn) finish(err error) {
	if errors.Is(err, errFreshStack) {
		c.host.Go(c.resume) // counted before this goroutine's count is released
		return
	}
	if !errors.Is(err, errStop) {
		c.stop(c.classifyReadError(err))
	}
	c.teardown()
	close(c.done)
}

// resume continues the read loop on a new reader goroutine.
func (c *Conn) resume() {
	c.finish(c.run())
}

// errFreshStack ends the reader goroutine so that a new one, whose stack
// starts small, continues the read loop.
//
// A goroutine's stack only grows while it runs; the runtime halves it at a
// garbage collection, and only when less than a quarter of it is in use. The
// handshake (table decoding, log records) takes the reader goroutine's stack
// to 8 KiB, while waiting for the next frame needs about 1 KiB: an idle
// connection would keep 8 KiB of stack until two collections come, and few
// come in a broker whose heap hardly grows (pprof at N = 1,000 idle
// connections: 6.9 KiB of stack per connection, the largest single cost).
// So when the reader is about to wait for input after such work, it passes
// the loop to a fresh goroutine and exits (a few microseconds), at most once
// per freshStackEvery; the first time right after connection.open.
var errFreshStack = errors.New("beatmq: continue on a fresh goroutine")

// freshStackEvery bounds how often a busy connection changes goroutine.
const freshStackEvery = 5 * time.Second

// wantFreshStack reports whether the reader, about to wait for input after
// handling frames other than heartbeats, should hand the read loop over: the
// connection is running and the last hand-over is old enough. Reader
// goroutine only.
func (c *Conn) wantFreshStack() bool {
	if c.state != StateRunning {
		return false
	}
	now := time.Now()
	if !c.loop.lastFresh.IsZero() && now.Sub(c.loop.lastFresh) < freshStackEvery {
		return false
	}
	c.loop.worked, c.loop.lastFresh = false, now
	return true
}

// run is the read loop: frame after frame.
func (c *Conn) run() error {
	for {
		if c.state == StateBlocked {
			if err := c.waitBlocked(); err != nil {
				return err
			}
			continue
		}
		if c.rd.Buffered() == 0 {
			// Wait for input here, not inside ReadFrame: a shallower stack.
			if c.loop.worked && c.wantFreshStack() {
				return errFreshStack
			}
			if err := c.rd.Fill(); err != nil {
				return err
			}
		}
		f, err := c.rd.ReadFrame()
		if err != nil {
			var fe *frames.Error
			if !errors.As(err, &fe) {
				return err
			}
			if err := c.frameError(f, fe); err != nil {
				return err
			}
			continue
		}
		if f.Type != frames.TypeHeartbeat {
			c.loop.worked = true
		}
		if err := c.handleFrame(f); err != nil {
			return err
		}
	}
}

// letGo is what the reader does before it blocks (on the socket, the alarm
// or a timer): publisher confirms earned so far are queued
// (flushMessaging), then its hold on the outbox is released, which flushes
// what waited behind it. Reader goroutine only.
func (c *Conn) letGo() {
	if c.loop.holding {
		c.flushMessaging()
		c.dropHold()
	}
}

// dropHold releases the reader's hold on the outbox, if it holds it, without
// looking for confirms (teardown: the channels are going). A write error
// shows up on the socket soon enough. Reader goroutine only.
func (c *Conn) dropHold() {
	if c.loop.holding {
		c.loop.holding = false
		_ = c.out.release()
	}
}

// inbound is the io.Reader beneath the frames.Reader. The frames.Reader calls
// it only when it has no complete frame buffered, that is just before the
// reader goroutine would block, which is when the outbox hold is released
// (flushing replies). It also turns read-deadline wake-ups into interrupts.
type inbound struct{ c *Conn }

func (in inbound) Read(p []byte) (int, error) {
	c := in.c
	c.letGo() // confirms earned by what was just read, then the replies
	for {
		n, err := c.readSocket(p) // c.cc.Read unless a fault holds the reader (fault.go)
		if n > 0 {
			c.loop.holding = true // work follows: replies wait for the next release
			c.out.hold()
			if !c.loop.gotData {
				c.loop.gotData = true
				c.logAccepting(slog.LevelInfo)
			}
			return n, nil
		}
		if err == nil {
			return 0, nil
		}
		if !isTimeout(err) {
			return 0, err
		}
		if c.intr.Load() != 0 {
			if err := c.handleInterrupts(); err != nil {
				return 0, err
			}
			continue
		}
		if !c.loop.deadline.IsZero() && !time.Now().Before(c.loop.deadline) {
			return 0, err
		}
		// A wake-up whose interrupt was already handled: restore the deadline.
		_ = c.nc.SetReadDeadline(c.loop.deadline)
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// setDeadline sets the read deadline in force. Reader goroutine only.
func (c *Conn) setDeadline(t time.Time) {
	c.loop.deadline = t
	_ = c.nc.SetReadDeadline(t)
}

// post asks the reader goroutine to handle flag: it wakes it from a blocking
// read (by moving the read deadline to now) or from a wait (c.wake). Any
// goroutine.
func (c *Conn) post(flag uint32) {
	c.intr.Or(flag)
	_ = c.nc.SetReadDeadline(time.Now())
	c.wakeUp()
}

func (c *Conn) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// handleInterrupts handles posted requests. Reader goroutine only; whatever
// it writes is flushed before it returns (unless the reader holds the outbox).
func (c *Conn) handleInterrupts() error {
	c.out.hold()
	defer func() { _ = c.out.release() }()
	for {
		flags := c.intr.Swap(0)
		if flags == 0 {
			return nil
		}
		if flags&intrClose != 0 {
			c.ctl.mu.Lock()
			code, text, reason := c.ctl.reqCode, c.ctl.reqText, c.ctl.reqReason
			c.ctl.mu.Unlock()
			if err := c.forceClose(code, text, reason); err != nil {
				return err
			}
		}
		if flags&intrDurable != 0 {
			if err := c.releaseDurable(); err != nil {
				return err
			}
		}
		if flags&(intrAlarm|intrFlow) != 0 && c.state == StateBlocked && !c.mustBlock() {
			if err := c.unblock(); err != nil {
				return err
			}
		}
		// Restore the deadline, then look again: a request posted while we were
		// busy either shows up in intr now or set its wake-up deadline after ours.
		_ = c.nc.SetReadDeadline(c.loop.deadline)
	}
}

// sleep waits d without reading, as RabbitMQ's timer:sleep in the reader; an
// abort or a forced close ends it early. Reader goroutine only.
func (c *Conn) sleep(d time.Duration) {
	c.letGo()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-c.wake:
			c.ctl.mu.Lock()
			ended := c.ctl.aborted != ReasonNone || c.ctl.reqReason != ReasonNone
			c.ctl.mu.Unlock()
			if ended {
				return
			}
		}
	}
}
