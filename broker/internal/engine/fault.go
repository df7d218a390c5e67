package engine

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/beatmq/beatmq/broker/logfmt"
)

// Fault injection: one fault at a time per connection, set from any
// goroutine (brokertest, the management API), cleared by hand, by its own
// duration, by another fault replacing it, or by the end of the connection.
//
// When no fault is set, the hot paths pay one atomic pointer load: per
// socket read (readSocket), per socket write (outbound.Write) and per
// heartbeat (sendHeartbeat). A set fault is immutable; ending it closes its
// cleared channel, which releases whatever it holds (a frozen writer, a
// frozen reader, a latency wait).
//
// How the broker's own heartbeat detection treats each fault it injects is
// documented on the FaultKind constants and in README.md ("Fault injection").

// FaultKind is a kind of fault injected into one connection.
type FaultKind uint8

// The fault kinds. "Detection" says how the broker's own heartbeat receiver
// treats the fault it injected itself.
const (
	// FaultNone: no fault.
	FaultNone FaultKind = iota
	// FaultMuteHeartbeats: the broker sends no heartbeat frames; other
	// frames go out as usual. Detection: unaffected (inbound is untouched).
	FaultMuteHeartbeats
	// FaultSlowHeartbeats: the broker's heartbeats come every Factor·T/2
	// instead of T/2, counted from when the fault was set, each sent only
	// if nothing else was sent since the previous one (RabbitMQ's rule).
	// Detection: unaffected. Needs a negotiated heartbeat.
	FaultSlowHeartbeats
	// FaultFreezeOut: nothing is sent. Frames are held, not lost: writers
	// block as on a full socket and go on, in order, when the fault ends.
	// Heartbeats due meanwhile are skipped (they carry nothing). The reader
	// goroutine blocks too when it has a reply to write, so a client that
	// waits for replies then stops being read. Detection: left running. A
	// client whose octets the blocked reader has not read is not closed
	// (octets waiting in the kernel count as activity: FIONREAD); otherwise
	// the receiver works as without the fault. A client that gives up and
	// closes its socket is noticed at once if the reader is free; if it is
	// blocked, by the receiver (2T–3T, unless octets wait unread) or when
	// the fault ends.
	FaultFreezeOut
	// FaultFreezeIn: the socket is not read, as by a stuck broker; sending
	// goes on. Detection: left running, not paused (unlike a connection
	// blocked by an alarm), and truthful about the client: octets waiting
	// unread count as activity (FIONREAD), so a client that sent anything
	// since the freeze began is neither warned about nor closed while it
	// lasts (the octets are read, and count, when it ends); one that sent
	// nothing since is warned about and closed 2T–3T after its last octet, as
	// without the fault. (On a connection that is not a socket, such as a
	// net.Pipe, nothing counts as waiting.)
	FaultFreezeIn
	FaultHalfOpen
	// FaultLatency: every write to the socket waits Latency first (frames
	// arrive that much late; writes queue behind each other, so throughput
	// drops to one socket write per Latency). Detection: unaffected.
	FaultLatency
	// FaultReset: the socket is reset at once (SO_LINGER 0, close: RST, no
	// connection.close). The connection ends with ReasonFaultReset and its
	// unacked deliveries are requeued. Instantaneous: For does not apply.
	FaultReset
)

var faultNames = [...]string{
	FaultNone:           "none",
	FaultMuteHeartbeats: "mute-heartbeats",
	FaultSlowHeartbeats: "slow-heartbeats",
	FaultFreezeOut:      "freeze-out",
	FaultFreezeIn:       "freeze-in",
	FaultHalfOpen:       "half-open",
	FaultLatency:        "latency",
	FaultReset:          "reset",
}

// String returns the kind's name, as the management API and beatmqctl take
// it ("mute-heartbeats").
func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "unknown"
}

// FaultKinds returns every kind that can be injected, in documentation order.
func FaultKinds() []FaultKind {
	return []FaultKind{FaultMuteHeartbeats, FaultSlowHeartbeats, FaultFreezeOut, FaultFreezeIn, FaultHalfOpen, FaultLatency, FaultReset}
}

// ErrUnknownFaultKind is wrapped by ParseFaultKind's and Fault.Validate's
// errors for a kind that does not exist; their text lists the valid kinds.
var ErrUnknownFaultKind = errors.New("unknown fault kind")

// ErrConnectionEnded is returned when a fault is set on a connection that
// has ended.
var ErrConnectionEnded = errors.New("connection has ended")

func unknownKind(s string) error {
	names := make([]string, 0, len(faultNames))
	for _, k := range FaultKinds() {
		names = append(names, k.String())
	}
	return fmt.Errorf("%w %q: valid kinds are %s", ErrUnknownFaultKind, s, strings.Join(names, ", "))
}

// ParseFaultKind returns the kind called s ("half-open"). The error for
// any other s lists the valid kinds.
func ParseFaultKind(s string) (FaultKind, error) {
	for _, k := range FaultKinds() {
		if k.String() == s {
			return k, nil
		}
	}
	return FaultNone, unknownKind(s)
}

// DefaultSlowFactor is Fault.Factor's default: heartbeats every T instead of T/2.
const DefaultSlowFactor = 2

// Fault describes a fault to inject into one connection.
type Fault struct {
	// Kind is what goes wrong.
	Kind FaultKind
	// For is how long the fault lasts before it clears itself; 0 means until
	// cleared (or the connection ends).
	For time.Duration
	// Factor, for FaultSlowHeartbeats only: heartbeats every Factor·T/2
	// (at least 1; 0 means DefaultSlowFactor).
	Factor float64
	// Latency, for FaultLatency only (and required there): the delay added
	// to every outbound write.
	Latency time.Duration
}

// Validate checks f and fills in defaults (Factor).
func (f *Fault) Validate() error {
	if f.Kind == FaultNone || int(f.Kind) >= len(faultNames) {
		return unknownKind(f.Kind.String())
	}
	if f.For < 0 {
		return fmt.Errorf("fault duration %v: must not be negative", f.For)
	}
	if f.Kind == FaultSlowHeartbeats {
		if f.Factor == 0 {
			f.Factor = DefaultSlowFactor
		}
		if math.IsNaN(f.Factor) || math.IsInf(f.Factor, 0) || f.Factor < 1 {
			return fmt.Errorf("slow-heartbeats factor %v: want a number of at least 1 (heartbeats every factor·T/2)", f.Factor)
		}
	} else if f.Factor != 0 {
		return fmt.Errorf("factor applies to slow-heartbeats only, not %s", f.Kind)
	}
	if f.Kind == FaultLatency {
		if f.Latency <= 0 {
			return errors.New("latency: needs a positive latency")
		}
	} else if f.Latency != 0 {
		return fmt.Errorf("latency applies to the latency fault only, not %s", f.Kind)
	}
	return nil
}

// describe is the fault as log lines show it: "slow-heartbeats, factor 3, for 5s".
func (f Fault) describe() string {
	s := f.Kind.String()
	switch f.Kind {
	case FaultSlowHeartbeats:
		s += fmt.Sprintf(", factor %v", f.Factor)
	case FaultLatency:
		s += fmt.Sprintf(", latency %v", f.Latency)
	}
	if f.For > 0 && f.Kind != FaultReset {
		s += fmt.Sprintf(", for %v", f.For)
	}
	return s
}

// faultState is a fault in force on one connection.
type faultState struct {
	f       Fault
	since   time.Time
	cleared chan struct{} // closed when the fault ends
	expiry  *time.Timer   // For > 0
	beat    *time.Timer   // slow-heartbeats: the slowed sender
	period  time.Duration // slow-heartbeats: Factor·T/2
	sent    uint64        // slow-heartbeats: octets sent at the previous beat check, 0 before the first (beat callback only)
}

// mutesMonitor reports whether the heartbeat Monitor's frames are skipped.
func (st *faultState) mutesMonitor() bool {
	switch st.f.Kind {
	case FaultMuteHeartbeats, FaultSlowHeartbeats, FaultFreezeOut, FaultHalfOpen:
		return true
	}
	return false
}

// holdsReader reports whether the fault changes how the socket is read.
func (st *faultState) holdsReader() bool {
	return st != nil && (st.f.Kind == FaultFreezeIn || st.f.Kind == FaultHalfOpen)
}

// stop disarms the fault's timers and releases what it holds. c.ctl.mu is
// held, and the fault has just been taken out of c.fault.
func (st *faultState) stop() {
	if st.expiry != nil {
		st.expiry.Stop()
	}
	if st.beat != nil {
		st.beat.Stop()
	}
	close(st.cleared)
}

// SetFault injects f into the connection, replacing the fault in force if
// any; every set and every end is logged. FaultReset resets the socket at
// once. It fails if f is invalid (Fault.Validate), if the connection has
// ended, or for FaultSlowHeartbeats on a connection without a negotiated
// heartbeat. Any goroutine.
func (c *Conn) SetFault(f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	st := &faultState{f: f, since: time.Now(), cleared: make(chan struct{})}
	c.ctl.mu.Lock()
	if c.ctl.faultsOff {
		c.ctl.mu.Unlock()
		return ErrConnectionEnded
	}
	name := c.displayNameLocked()
	if f.Kind == FaultSlowHeartbeats {
		t := time.Duration(c.ctl.info.Heartbeat) * c.set.Unit
		if t <= 0 {
			c.ctl.mu.Unlock()
			return errors.New("slow-heartbeats: the connection has no heartbeat (T = 0, or not tuned yet)")
		}
		st.period = max(time.Duration(f.Factor*float64(t/2)), 1)
	}
	var old *faultState
	if f.Kind != FaultReset {
		old = c.fault.Swap(st)
		if old != nil {
			old.stop()
		}
	}
	c.ctl.mu.Unlock()
	if old != nil {
		c.logFaultEnd(old, name, "replaced")
	}
	c.log.Warn(fmt.Sprintf("fault injected on connection %s (%s): %s", c.id, name, f.describe()), c.faultAttrs(f, "")...)
	if f.Kind == FaultReset {
		c.abort(ReasonFaultReset, nil)
		return nil
	}
	// The timers are armed once st is in force and logged (so that its end is
	// never logged before its start), unless it has ended meanwhile; under
	// c.ctl.mu, which their callbacks take before touching them.
	c.ctl.mu.Lock()
	if c.fault.Load() == st {
		if st.period > 0 {
			st.beat = time.AfterFunc(st.period, func() { c.slowBeat(st) })
		}
		if f.For > 0 {
			st.expiry = time.AfterFunc(f.For, func() { c.endFault(st, "expired") })
		}
	}
	c.ctl.mu.Unlock()
	if st.holdsReader() || old.holdsReader() {
		c.nudgeReader()
	}
	return nil
}

// ClearFault ends the fault in force, if any, and reports whether there was
// one. Any goroutine.
func (c *Conn) ClearFault() bool { return c.endFault(nil, "cleared") }

// endFault ends st if it is still in force (any fault if st is nil) and
// logs it; why is how it ended. It reports whether a fault ended.
func (c *Conn) endFault(st *faultState, why string) bool {
	c.ctl.mu.Lock()
	cur := c.fault.Load()
	if cur == nil || st != nil && cur != st {
		c.ctl.mu.Unlock()
		return false
	}
	c.fault.Store(nil)
	cur.stop()
	name := c.displayNameLocked()
	c.ctl.mu.Unlock()
	c.logFaultEnd(cur, name, why)
	if cur.holdsReader() {
		c.nudgeReader()
	}
	return true
}

// endFaults ends the fault in force when the connection ends (abort,
// teardown); off refuses faults from now on.
func (c *Conn) endFaults(off bool) {
	if off {
		c.ctl.mu.Lock()
		c.ctl.faultsOff = true
		c.ctl.mu.Unlock()
	}
	if c.fault.Load() != nil {
		c.endFault(nil, "connection_closed")
	}
}

// logFaultEnd logs the end of st.
func (c *Conn) logFaultEnd(st *faultState, name, why string) {
	after := time.Since(st.since).Round(time.Millisecond)
	var how string
	switch why {
	case "expired":
		how = "expired after"
	case "replaced":
		how = "replaced after"
	case "connection_closed":
		how = "ended with the connection after"
	default:
		how = "cleared after"
	}
	c.log.Info(fmt.Sprintf("fault cleared on connection %s (%s): %s, %s %v", c.id, name, st.f.Kind, how, after),
		c.faultAttrs(st.f, why)...)
}

// faultAttrs are the structured fields of a fault's log records.
func (c *Conn) faultAttrs(f Fault, end string) []any {
	a := []any{logfmt.KeyFault, f.Kind.String()}
	if f.For > 0 && f.Kind != FaultReset {
		a = append(a, logfmt.KeyFaultFor, f.For.Seconds())
	}
	if f.Kind == FaultSlowHeartbeats {
		a = append(a, logfmt.KeyFaultFactor, f.Factor)
	}
	if f.Kind == FaultLatency {
		a = append(a, logfmt.KeyFaultLatency, f.Latency.Seconds())
	}
	if end != "" {
		a = append(a, logfmt.KeyFaultEnd, end)
	}
	return a
}

// faultInfoLocked returns the fault in force and since when. c.ctl.mu is held.
func (c *Conn) faultInfoLocked() (Fault, time.Time) {
	if st := c.fault.Load(); st != nil {
		return st.f, st.since
	}
	return Fault{}, time.Time{}
}

// nudgeReader makes the reader goroutine look at c.fault again: a blocking
// read returns (its deadline moved to now), a frozen reader wakes. Any
// goroutine.
func (c *Conn) nudgeReader() {
	_ = c.nc.SetReadDeadline(time.Now())
	c.wakeUp()
}

// slowBeat is the slowed heartbeat sender of FaultSlowHeartbeats: every
// period, a heartbeat if nothing else was sent since the previous check, and
// always at the first (rabbit_heartbeat:heartbeater/3's rules, at the slowed
// pace). Timer goroutine.
func (c *Conn) slowBeat(st *faultState) {
	if c.fault.Load() != st {
		return
	}
	if st.sent == 0 || c.cc.Sent() == st.sent {
		_ = c.writeHeartbeat() // a socket error shows up on the reader
	}
	st.sent = c.cc.Sent()
	c.ctl.mu.Lock()
	if c.fault.Load() == st {
		st.beat.Reset(st.period)
	}
	c.ctl.mu.Unlock()
}

// outbound is the io.Writer beneath the connection's frames.Writer: the
// socket (through its octet counter), with the outbound faults applied.
// Called with the frames.Writer's mutex held, so one call at a time.
type outbound struct{ c *Conn }

func (o outbound) Write(p []byte) (int, error) {
	c := o.c
	for st := c.fault.Load(); st != nil; st = c.fault.Load() {
		switch st.f.Kind {
		case FaultHalfOpen:
			return len(p), nil // into the void
		case FaultFreezeOut:
			<-st.cleared // held; the next fault, if any, is looked at next
			continue
		case FaultLatency:
			t := time.NewTimer(st.f.Latency)
			select {
			case <-t.C:
			case <-st.cleared:
			}
			t.Stop()
		}
		break
	}
	n, err := c.rw.Write(p)
	if n > 0 {
		c.octetsOut()
	}
	return n, err
}

// readSocket is the reader goroutine's read of the socket, with the inbound
// faults applied: under freeze-in it waits without reading until the fault
// ends, the reader is woken (an interrupt) or its deadline passes, and
// reports a timeout so that the read loop looks at all three; under
// half-open it reads and discards, counting nothing.
func (c *Conn) readSocket(p []byte) (int, error) {
	if st := c.fault.Load(); st != nil {
		switch st.f.Kind {
		case FaultFreezeIn:
			return 0, c.frozenIn(st)
		case FaultHalfOpen:
			return 0, c.readDropped(st, p)
		}
	}
	n, err := c.rw.Read(p)
	if n > 0 {
		c.octetsIn()
	}
	return n, err
}

// frozenIn waits, without reading, for st to end, a wake-up or the read
// deadline. Reader goroutine.
func (c *Conn) frozenIn(st *faultState) error {
	var deadline <-chan time.Time
	if !c.loop.deadline.IsZero() {
		t := time.NewTimer(time.Until(c.loop.deadline))
		defer t.Stop()
		deadline = t.C
	}
	select {
	case <-st.cleared:
	case <-c.wake:
	case <-deadline:
	}
	return os.ErrDeadlineExceeded
}

// readDropped reads the raw socket, past the octet counter, and discards
// what arrives while st is in force. The end of the stream is dropped too
// (the peer's FIN or RST would not reach a broker whose peer has vanished):
// the reader then waits as under freeze-in, and meets the end again once the
// fault is over. On a TLS connection it reads through TLS with the counter
// muted, so that the TLS stream survives the fault. Reader goroutine.
func (c *Conn) readDropped(st *faultState, p []byte) error {
	src := c.nc
	if c.tls != nil {
		src = c.rw
		c.cc.SetReceiveMuted(true)
		defer c.cc.SetReceiveMuted(false)
	}
	for {
		if _, err := src.Read(p); err != nil {
			if isTimeout(err) {
				return err
			}
			return c.frozenIn(st)
		}
		if c.fault.Load() != st {
			return os.ErrDeadlineExceeded // look again
		}
	}
}
