package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/frames"
	"github.com/beatmq/beatmq/heartbeat"
)

// connIDs numbers connections process-wide, so that ids stay unique when
// several servers share a log (tests).
var connIDs atomic.Uint64

// Conn is one AMQP connection. See doc.go for which goroutine touches what.
type Conn struct {
	host     Host
	set      *Settings
	id       string // "<0.N.0>", the id on every log line about this connection
	nc       net.Conn
	cc       *heartbeat.CountingConn
	rd       *frames.Reader
	dec      amqp.Decoder
	out      outbox
	log      *slog.Logger
	peer     string // "127.0.0.1:46404"
	local    string // "127.0.0.1:5672"
	accepted time.Time
	done     chan struct{} // closed when the reader goroutine has finished

	// Owned by the reader goroutine.
	state        ConnState
	loop         readLoop
	client       clientInfo
	tuned        tuning
	logName      string // "peer -> local" or "peer -> local - NAME"
	blockedSent  bool   // connection.blocked sent, unblocked not yet
	channels     map[uint16]*channel
	lastCh       *channel // the last frame's channel, if open: spares a map lookup per frame (9 % of the CPU at 900k msg/s)
	monitor      *heartbeat.Monitor
	closedAs     CloseReason // the reason recorded when the connection entered StateClosed
	connReleased bool        // releaseConnMessaging has run
	fin          ending      // how the connection ended, set once by stop
	msg          connMessaging

	// Set by other goroutines to interrupt the reader; see post.
	intr atomic.Uint32
	wake chan struct{} // cap 1

	// sq orders everything sent on the connection but heartbeats.
	sq sendQueue

	// ctl is what other goroutines read (inspection) or set (abort, close
	// requests).
	ctl control
}

// readLoop is the read loop's own bookkeeping. Reader goroutine only.
type readLoop struct {
	holding      bool      // the reader holds c.out (see outbox and letGo)
	gotData      bool      // the first octet has arrived
	worked       bool      // a frame other than a heartbeat was handled since the last fresh goroutine
	lastFresh    time.Time // when the read loop last moved to a fresh goroutine
	deadline     time.Time // the read deadline in force (handshake or closing), zero for none
	handshakeEnd time.Time // accept + handshake timeout, zero for none
}

// clientInfo is what the client said about itself in the handshake. Reader
// goroutine only.
type clientInfo struct {
	clientName   string     // the connection_name client property
	clientCaps   amqp.Table // the client's capabilities table
	capBlocked   bool       // the client advertised connection.blocked
	capAuthClose bool       // the client advertised authentication_failure_close
	mechanism    string
	user         string // set once authenticated
	vhost        string // set once open
}

// tuning is what tune-ok settled. Reader goroutine only.
type tuning struct {
	timeoutSec uint16 // RabbitMQ's timeout_sec: the negotiated heartbeat
	frameMax   uint32
	channelMax uint16
}

// control holds what other goroutines read or set. mu is a leaf lock:
// nothing else is locked or called while it is held.
type control struct {
	mu          sync.Mutex
	info        ConnInfo    // snapshot for inspection, updated by the reader
	aborted     CloseReason // set by abort: the reason the socket was closed under the reader
	abortErr    error
	reqCode     uint16 // a requested close (Shutdown, CloseConnection)
	reqText     string
	reqReason   CloseReason
	hbTimedOut  bool // missed heartbeats detected (for the log after the abort)
	ignoreHBOut bool // heartbeat timeouts no longer count (StateClosed)
}

// Interrupt flags (conn.intr).
const (
	intrClose uint32 = 1 << iota // a close was requested: reqCode/reqText
	intrAlarm                    // the server's alarm changed
)

// ending is how a connection ended: its reason and the log record RabbitMQ
// writes for it.
type ending struct {
	reason CloseReason
	level  slog.Level
	msg    string // "" writes nothing
}

// errStop ends the reader goroutine; c.fin says how.
var errStop = errors.New("beatmq: connection ended")

func newConn(h Host, set *Settings, nc net.Conn) *Conn {
	n := connIDs.Add(1)
	c := &Conn{
		host:     h,
		set:      set,
		id:       "<0." + strconv.FormatUint(n, 10) + ".0>",
		nc:       nc,
		cc:       heartbeat.NewCountingConn(nc),
		accepted: time.Now(),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		peer:     addrString(nc.RemoteAddr()),
		local:    addrString(nc.LocalAddr()),
	}
	c.logName = c.peer + " -> " + c.local
	c.out.w = frames.NewWriter(c.cc)
	c.rd = frames.NewReader(inbound{c})
	c.log = set.Log.With(logfmt.KeyConn, c.id, logfmt.KeyPeer, c.peer, logfmt.KeyLocal, c.local)
	c.ctl.info = ConnInfo{ID: c.id, Name: c.logName, Peer: c.peer, Local: c.local, ConnectedAt: c.accepted, State: StatePreInit}
	if set.HandshakeTimeout > 0 {
		c.loop.handshakeEnd = c.accepted.Add(set.HandshakeTimeout)
	}
	return c
}

func addrString(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	return a.String()
}

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
		n, err := c.cc.Read(p)
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
		if flags&intrAlarm != 0 && c.state == StateBlocked && !c.host.Alarm() {
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

// abort closes the socket from any goroutine (missed heartbeats, heartbeat
// send failure, shutdown deadline): the reader goroutine's next read or write
// fails and it finishes with reason r. The first abort wins.
func (c *Conn) abort(r CloseReason, err error) {
	c.ctl.mu.Lock()
	if c.ctl.aborted == ReasonNone {
		c.ctl.aborted, c.ctl.abortErr = r, err
	}
	c.ctl.mu.Unlock()
	_ = c.cc.Reset()
	c.wakeUp()
}

// requestClose asks the connection to close with connection.close code/text
// (320 CONNECTION_FORCED for shutdown and operators). Any goroutine.
func (c *Conn) requestClose(code uint16, text string, reason CloseReason) {
	c.ctl.mu.Lock()
	if c.ctl.reqReason == ReasonNone {
		c.ctl.reqCode, c.ctl.reqText, c.ctl.reqReason = code, text, reason
	}
	c.ctl.mu.Unlock()
	c.post(intrClose)
}

// onHeartbeatTimeout is the Monitor's OnTimeout: RabbitMQ's reader throws
// {heartbeat_timeout, T} unless the connection is already closed
// (rabbit_reader:handle_other/2), then fast-closes the socket: RST, no
// connection.close (heartbeat-semantics.md §b.1).
func (c *Conn) onHeartbeatTimeout() {
	c.ctl.mu.Lock()
	ignore := c.ctl.ignoreHBOut
	if !ignore {
		c.ctl.hbTimedOut = true
	}
	c.ctl.mu.Unlock()
	if !ignore {
		c.abort(ReasonMissedHeartbeats, nil)
	}
}

// onHeartbeatSendError is the Monitor's OnSendError: RabbitMQ stops the
// connection with {inet_error, Reason}; this is how a dead peer is noticed
// while the connection is blocked and not reading (rabbitmq-server#384).
func (c *Conn) onHeartbeatSendError(err error) {
	c.abort(ReasonHeartbeatSendError, err)
}

// stop records how the connection ends (the first call wins) and returns
// errStop.
func (c *Conn) stop(e ending) error {
	if c.fin.reason == ReasonNone {
		c.fin = e
	}
	return errStop
}

// setState changes the state and mirrors it for inspection. Reader goroutine only.
func (c *Conn) setState(s ConnState) {
	c.state = s
	c.ctl.mu.Lock()
	c.ctl.info.State = s
	if s == StateClosed {
		c.ctl.ignoreHBOut = true
	}
	c.ctl.mu.Unlock()
}

// teardown runs once on the reader goroutine after the loop ended: log the
// end, close the socket (RST, as RabbitMQ's fast_close with linger 0), stop
// the heartbeat goroutines, release every channel and leave the server.
func (c *Conn) teardown() {
	c.dropHold()
	if c.fin.msg != "" {
		c.log.Log(context.Background(), c.fin.level, c.fin.msg, c.endAttrs()...)
	}
	_ = c.cc.Reset()
	if c.monitor != nil {
		c.monitor.Stop()
	}
	c.closeAllForSend()
	c.closeSendQueue()
	c.releaseAll()
	c.ctl.mu.Lock()
	c.ctl.info.State = StateTerminated
	c.ctl.info.Reason = c.fin.reason
	c.ctl.info.ClosedAt = time.Now()
	c.ctl.info.Channels = 0
	c.ctl.info.RecvOctets = c.cc.Received()
	c.ctl.info.SendOctets = c.cc.Sent()
	c.ctl.mu.Unlock()
	c.host.Ended(c)
}

// releaseAll releases every channel, then the connection's messaging state
// (exclusive queues), once. Reader goroutine.
func (c *Conn) releaseAll() {
	c.lastCh = nil
	for id, ch := range c.channels {
		delete(c.channels, id)
		ch.release()
	}
	if !c.connReleased {
		c.connReleased = true
		c.releaseConnMessaging()
	}
}

// endAttrs are the structured fields of the record that ends a connection.
func (c *Conn) endAttrs() []any {
	a := []any{logfmt.KeyReason, c.fin.reason.String()}
	if c.client.clientName != "" {
		a = append(a, logfmt.KeyName, c.client.clientName)
	}
	if c.client.user != "" {
		a = append(a, logfmt.KeyUser, c.client.user)
	}
	if c.client.vhost != "" {
		a = append(a, logfmt.KeyVHost, c.client.vhost)
	}
	if c.fin.reason == ReasonMissedHeartbeats {
		a = append(a, logfmt.KeyTimeout, c.tuned.timeoutSec)
	}
	return a
}

// unit converts protocol seconds into real time (Config.HeartbeatUnit).
func (c *Conn) unit(sec int) time.Duration { return time.Duration(sec) * c.set.Unit }

// closingTimeout is how long RabbitMQ waits in the closed state
// (rabbit_reader:close_connection/1): timeout_sec if 0 < T < 30, else 30 s.
func (c *Conn) closingTimeout() time.Duration {
	if t := int(c.tuned.timeoutSec); t > 0 && t < 30 {
		return c.unit(t)
	}
	return c.unit(30)
}

// silentCloseDelay is RabbitMQ's ?SILENT_CLOSE_DELAY, 3 s.
func (c *Conn) silentCloseDelay() time.Duration { return c.unit(3) }

// classifyReadError turns the error that ended the read loop into an ending.
func (c *Conn) classifyReadError(err error) ending {
	c.ctl.mu.Lock()
	aborted, abortErr, hb := c.ctl.aborted, c.ctl.abortErr, c.ctl.hbTimedOut
	c.ctl.mu.Unlock()
	switch {
	case hb:
		return ending{ReasonMissedHeartbeats, slog.LevelError, fmt.Sprintf(
			"closing AMQP connection %s (%s):\nmissed heartbeats from client, timeout: %ds", c.id, c.logName, c.tuned.timeoutSec)}
	case aborted == ReasonHeartbeatSendError:
		return ending{aborted, slog.LevelError, fmt.Sprintf(
			"closing AMQP connection %s (%s):\n{inet_error,%s}", c.id, c.logName, inetError(abortErr))}
	case aborted != ReasonNone:
		return c.closedEnding(aborted)
	case c.state == StateClosed:
		// The peer went away, or the closing timer ran out: the end of a close
		// handshake, logged as a clean close.
		return c.closedEnding(c.closedAs)
	case isTimeout(err):
		callback := "frame_header"
		if c.state == StatePreInit {
			callback = "handshake"
		}
		if !c.loop.gotData {
			c.logAccepting(slog.LevelInfo)
		}
		return ending{ReasonHandshakeTimeout, slog.LevelError, fmt.Sprintf(
			"closing AMQP connection %s (%s):\n{handshake_timeout,%s}", c.id, c.logName, callback)}
	case isPeerClose(err) && !c.loop.gotData:
		c.logAccepting(slog.LevelDebug)
		return ending{ReasonHealthCheck, slog.LevelDebug, fmt.Sprintf(
			"closing AMQP connection %s (%s):\nconnection_closed_with_no_data_received", c.id, c.logName)}
	case isPeerClose(err):
		return ending{ReasonUnexpectedClose, slog.LevelWarn, fmt.Sprintf(
			"closing AMQP connection %s (%s):\nclient unexpectedly closed TCP connection", c.id, c.nameWithUser())}
	}
	return ending{ReasonSocketError, slog.LevelError, fmt.Sprintf(
		"closing AMQP connection %s (%s):\n{inet_error,%s}", c.id, c.logName, inetError(err))}
}

// closedEnding is the info line RabbitMQ writes when the reader returns
// normally: after a close handshake, whoever started it.
func (c *Conn) closedEnding(r CloseReason) ending {
	if c.client.user == "" {
		return ending{r, slog.LevelInfo, fmt.Sprintf("closing AMQP connection %s (%s)", c.id, c.logName)}
	}
	return ending{r, slog.LevelInfo, fmt.Sprintf("closing AMQP connection %s (%s)", c.id, c.nameWithUser())}
}

// nameWithUser is "NAME, vhost: 'V', user: 'U'" once authenticated (vhost
// 'none' before open), else NAME.
func (c *Conn) nameWithUser() string {
	if c.client.user == "" {
		return c.logName
	}
	vh := c.client.vhost
	if vh == "" {
		vh = "none"
	}
	return fmt.Sprintf("%s, vhost: '%s', user: '%s'", c.logName, vh, c.client.user)
}

func (c *Conn) logAccepting(level slog.Level) {
	c.log.Log(context.Background(), level, fmt.Sprintf("accepting AMQP connection %s (%s)", c.id, c.logName))
}

// clientCapability reports whether the client advertised capability name
// (consumer_cancel_notify, connection.blocked...) in start-ok. Reader goroutine.
func (c *Conn) clientCapability(name string) bool { return boolField(c.client.clientCaps, name) }

// snapshot returns the inspection view. Any goroutine.
func (c *Conn) snapshot() ConnInfo {
	c.ctl.mu.Lock()
	defer c.ctl.mu.Unlock()
	in := c.ctl.info
	if in.State != StateTerminated {
		in.RecvOctets = c.cc.Received()
		in.SendOctets = c.cc.Sent()
	}
	return in
}

// updateInfo applies f to the inspection snapshot under c.ctl.mu.
func (c *Conn) updateInfo(f func(*ConnInfo)) {
	c.ctl.mu.Lock()
	f(&c.ctl.info)
	c.ctl.mu.Unlock()
}
