package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/broker/vhost"
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
	id       string                  // "<0.N.0>", the id on every log line about this connection
	nc       net.Conn                // the socket: deadlines, addresses
	cc       *heartbeat.CountingConn // counts the socket's octets (below TLS)
	rw       net.Conn                // what frames are read from and written to: cc, or TLS over cc
	tls      *tls.ConnectionState    // nil on a plain TCP connection (conn_tls.go)
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
	// credit is the connection's credit flow with the message store
	// (flow.go); storeDoneFn is c.storeDone, made at the first persistent
	// publish (reader goroutine).
	credit      credit
	storeDoneFn func(error)
	wake        chan struct{} // cap 1

	// sq orders everything sent on the connection but heartbeats.
	sq sendQueue

	// ctl is what other goroutines read (inspection) or set (abort, close
	// requests).
	ctl control

	fault atomic.Pointer[faultState] // the injected fault in force, nil almost always (fault.go)
	tele  telemetry                  // heartbeat telemetry (telemetry.go)
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
	user         string       // set once authenticated
	vhost        string       // set once open
	vh           *vhost.VHost // the vhost opened
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
	info        ConnInfo            // snapshot for inspection, updated by the reader
	chans       map[uint16]*channel // the open channels, for Channels (channel_info.go)
	aborted     CloseReason         // set by abort: the reason the socket was closed under the reader
	abortErr    error
	reqCode     uint16 // a requested close (Shutdown, CloseConnection)
	reqText     string
	reqReason   CloseReason
	hbTimedOut  bool // missed heartbeats detected (for the log after the abort)
	ignoreHBOut bool // heartbeat timeouts no longer count (StateClosed)
	faultsOff   bool // the connection has ended: no more faults (fault.go)
}

// Interrupt flags (conn.intr).
const (
	intrClose   uint32 = 1 << iota // a close was requested: reqCode/reqText
	intrAlarm                      // the server's alarm changed
	intrDurable                    // a store write of a channel completed (channel_durable.go)
	intrFlow                       // the store granted credit to a reader held by flow (flow.go)
)

// ending is how a connection ended: its reason and the log record RabbitMQ
// writes for it.
type ending struct {
	reason CloseReason
	level  slog.Level
	msg    string // "" writes nothing
}

// PeerUnreachableText is the second line of the error logged when a blocked
// connection's peer stopped acknowledging (ReasonPeerUnreachable), followed
// by ", timeout: Ns" as RabbitMQ's missed-heartbeats line is. beatmq's own
// words: RabbitMQ never closes such a connection.
const PeerUnreachableText = "peer unreachable while blocked: heartbeats sent, none acknowledged by its TCP stack"

// errStop ends the reader goroutine; c.fin says how.
var errStop = errors.New("beatmq: connection ended")

func newConn(h Host, set *Settings, nc net.Conn) *Conn {
	cc := heartbeat.NewCountingConn(nc)
	return newConnOn(h, set, cc, cc)
}

// newConnOn returns the connection on the counted socket cc, whose frames
// go through rw (cc itself, or a TLS connection over cc).
func newConnOn(h Host, set *Settings, cc *heartbeat.CountingConn, rw net.Conn) *Conn {
	n := connIDs.Add(1)
	nc := cc.NetConn()
	c := &Conn{
		host:     h,
		set:      set,
		id:       "<0." + strconv.FormatUint(n, 10) + ".0>",
		nc:       nc,
		cc:       cc,
		rw:       rw,
		accepted: time.Now(),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		peer:     addrString(nc.RemoteAddr()),
		local:    addrString(nc.LocalAddr()),
	}
	c.logName = c.peer + " -> " + c.local
	c.out.w = frames.NewWriter(outbound{c})
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

// abort closes the socket from any goroutine (missed heartbeats, heartbeat
// send failure, shutdown deadline): the reader goroutine's next read or write
// fails and it finishes with reason r. The first abort wins.
func (c *Conn) abort(r CloseReason, err error) {
	c.ctl.mu.Lock()
	if c.ctl.aborted == ReasonNone {
		c.ctl.aborted, c.ctl.abortErr = r, err
	}
	c.ctl.mu.Unlock()
	if r == ReasonFaultReset {
		_ = c.cc.Reset() // the fault is a reset, TLS or not
	} else {
		c.fastClose()
	}
	c.endFaults(false) // releases a frozen writer or reader
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

// onPeerUnreachable is the Monitor's OnUnreachable: while the connection was
// blocked, the peer's host acknowledged nothing of what was sent to it for
// two receiver checks. RabbitMQ has no such check and keeps the connection
// until the block ends or TCP gives up (rabbitmq-server#384); beatmq resets
// it, as for missed heartbeats.
func (c *Conn) onPeerUnreachable() {
	c.abort(ReasonPeerUnreachable, nil)
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
// end, close the socket (fastClose), stop the heartbeat goroutines, release
// every channel and leave the server.
func (c *Conn) teardown() {
	c.endFaults(true) // first: a frozen write would hold up the last flush
	c.dropHold()
	if c.fin.msg != "" {
		c.log.Log(context.Background(), c.fin.level, c.fin.msg, c.endAttrs()...)
	}
	c.fastClose()
	c.countEnd()
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
	c.unlistChannelsLocked()
	c.ctl.info.RecvOctets = c.cc.Received()
	c.ctl.info.SendOctets = c.cc.Sent()
	c.ctl.info.Telemetry = c.telemetryLocked()
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
	// The client-provided name is on c.log already (set with it at
	// start-ok), so it is not repeated here.
	a := []any{logfmt.KeyReason, c.fin.reason.String()}
	if c.client.user != "" {
		a = append(a, logfmt.KeyUser, c.client.user)
	}
	if c.client.vhost != "" {
		a = append(a, logfmt.KeyVHost, c.client.vhost)
	}
	if c.fin.reason == ReasonMissedHeartbeats || c.fin.reason == ReasonPeerUnreachable {
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
	case aborted == ReasonPeerUnreachable:
		return ending{aborted, slog.LevelError, fmt.Sprintf(
			"closing AMQP connection %s (%s):\n%s, timeout: %ds", c.id, c.logName, PeerUnreachableText, c.tuned.timeoutSec)}
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
		in.Telemetry = c.telemetryLocked()
		in.Fault, in.FaultSince = c.faultInfoLocked()
	}
	return in
}

// updateInfo applies f to the inspection snapshot under c.ctl.mu.
func (c *Conn) updateInfo(f func(*ConnInfo)) {
	c.ctl.mu.Lock()
	f(&c.ctl.info)
	c.ctl.mu.Unlock()
}
