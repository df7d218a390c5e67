package engine

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/beatmq/beatmq/broker/logfmt"
)

// Telemetry is a connection's heartbeat telemetry: what it received and sent,
// how regularly the client beats, and the longest silences. Octets count when
// the broker reads or writes them (a connection blocked by an alarm, or frozen
// by a fault, reads nothing, so its inbound silence grows).
type Telemetry struct {
	// Interval is the negotiated heartbeat T in real time (0: none, or not
	// yet tuned); the *T methods express durations in units of it.
	Interval time.Duration
	// HeartbeatsReceived and HeartbeatsSent count heartbeat frames.
	HeartbeatsReceived, HeartbeatsSent uint64
	// LastInterval is the time between the last two heartbeat frames
	// received; MedianInterval the median of the last (up to) 8 such
	// intervals: the client's observed cadence. Zero before two heartbeats.
	LastInterval, MedianInterval time.Duration
	// LongestInboundSilence and LongestOutboundSilence are the longest gaps
	// without an octet read or written since the connection was accepted,
	// the current gap included.
	LongestInboundSilence, LongestOutboundSilence time.Duration
	// LastReceivedAge and LastSentAge are the ages of the last octet read and
	// written (since accept when there was none). Frozen at the close.
	LastReceivedAge, LastSentAge time.Duration
	// LateWarnings counts the late-heartbeat warnings logged for the client.
	LateWarnings uint64
}

// InT returns d in units of Interval, or 0 when there is no heartbeat.
func (t Telemetry) InT(d time.Duration) float64 {
	if t.Interval <= 0 {
		return 0
	}
	return float64(d) / float64(t.Interval)
}

// cadenceKept is how many intervals between received heartbeats the median
// is taken over.
const cadenceKept = 8

// telemetry is a connection's live telemetry. The octet stamps are written by
// one goroutine each (the reader; the writer under the frames.Writer's
// mutex) and read by any, hence atomics; the heartbeat cadence is kept under
// Conn.ctl.mu, taken once per received heartbeat frame only.
type telemetry struct {
	// Nanoseconds since accept (monotonic) of the last octet read / written,
	// and the longest gap seen so far in each direction.
	lastIn, lastOut     atomic.Int64
	maxGapIn, maxGapOut atomic.Int64
	sentBeats           atomic.Uint64
	lateWarnings        atomic.Uint64
	recvBeats           uint64              // ctl.mu
	lastBeat            int64               // ctl.mu: ns since accept of the last heartbeat frame received
	intervals           [cadenceKept]uint32 // ctl.mu: ms between received heartbeats, a ring
	nIntervals, ringI   uint8               // ctl.mu
}

// stamp records an octet moved at now (ns since accept) in one direction.
func stamp(last, maxGap *atomic.Int64, now int64) {
	if gap := now - last.Load(); gap > maxGap.Load() {
		maxGap.Store(gap)
	}
	last.Store(now)
}

// sinceAccept is the monotonic time since the connection was accepted.
func (c *Conn) sinceAccept() int64 { return int64(time.Since(c.accepted)) }

// octetsIn records that the reader read octets. Reader goroutine.
func (c *Conn) octetsIn() { stamp(&c.tele.lastIn, &c.tele.maxGapIn, c.sinceAccept()) }

// octetsOut records that octets were written. Under the frames.Writer's mutex.
func (c *Conn) octetsOut() { stamp(&c.tele.lastOut, &c.tele.maxGapOut, c.sinceAccept()) }

// lastReceived is when the last octet was read (accept if none): the
// heartbeat Monitor's Config.LastReceived.
func (c *Conn) lastReceived() time.Time {
	return c.accepted.Add(time.Duration(c.tele.lastIn.Load()))
}

// heartbeatReceived counts a heartbeat frame and the interval since the
// previous one. Reader goroutine.
func (c *Conn) heartbeatReceived() {
	now := c.sinceAccept()
	c.ctl.mu.Lock()
	t := &c.tele
	if t.recvBeats > 0 {
		ms := (now - t.lastBeat) / int64(time.Millisecond)
		t.intervals[t.ringI] = uint32(min(max(ms, 0), 1<<32-1))
		t.ringI = (t.ringI + 1) % cadenceKept
		t.nIntervals = min(t.nIntervals+1, cadenceKept)
	}
	t.recvBeats++
	t.lastBeat = now
	c.ctl.mu.Unlock()
}

// sendHeartbeat is the Monitor's SendHeartbeat: it writes a heartbeat frame,
// unless a fault mutes the broker's heartbeats, and counts it.
func (c *Conn) sendHeartbeat() error {
	if f := c.fault.Load(); f != nil && f.mutesMonitor() {
		return nil
	}
	return c.writeHeartbeat()
}

// writeHeartbeat writes and counts one heartbeat frame.
func (c *Conn) writeHeartbeat() error {
	if err := c.out.w.WriteHeartbeat(); err != nil {
		return err
	}
	c.tele.sentBeats.Add(1)
	return nil
}

// telemetryLocked returns the telemetry as of now. c.ctl.mu is held.
func (c *Conn) telemetryLocked() Telemetry {
	t := &c.tele
	now := c.sinceAccept()
	in, out := t.lastIn.Load(), t.lastOut.Load()
	tm := Telemetry{
		Interval:               time.Duration(c.ctl.info.Heartbeat) * c.set.Unit,
		HeartbeatsReceived:     t.recvBeats,
		HeartbeatsSent:         t.sentBeats.Load(),
		LastReceivedAge:        time.Duration(now - in),
		LastSentAge:            time.Duration(now - out),
		LongestInboundSilence:  time.Duration(max(t.maxGapIn.Load(), now-in)),
		LongestOutboundSilence: time.Duration(max(t.maxGapOut.Load(), now-out)),
		LateWarnings:           t.lateWarnings.Load(),
	}
	if n := int(t.nIntervals); n > 0 {
		last := (int(t.ringI) + cadenceKept - 1) % cadenceKept
		tm.LastInterval = time.Duration(t.intervals[last]) * time.Millisecond
		s := make([]uint32, 0, cadenceKept)
		s = append(s, t.intervals[:n]...)
		slices.Sort(s)
		tm.MedianInterval = time.Duration(s[n/2]) * time.Millisecond
		if n%2 == 0 {
			tm.MedianInterval = time.Duration(uint64(s[n/2-1])+uint64(s[n/2])) * time.Millisecond / 2
		}
	}
	return tm
}

// onLate is the Monitor's OnLate: the client has sent nothing for silence,
// past the warning threshold. It logs one warning, unless the connection is
// closing (missed heartbeats no longer count then) or the client's octets are
// waiting unread (it is talking; the broker is not reading: see
// heartbeat.Config.Unread). Heartbeat goroutine.
func (c *Conn) onLate(silence time.Duration) bool {
	if c.cc.Unread() {
		return false
	}
	c.ctl.mu.Lock()
	closing := c.ctl.ignoreHBOut
	name, timeout := c.displayNameLocked(), c.ctl.info.Heartbeat
	c.ctl.mu.Unlock()
	if closing {
		return false
	}
	c.tele.lateWarnings.Add(1)
	if t := c.set.Totals; t != nil {
		t.LateWarnings.Add(1)
	}
	silence = silence.Round(time.Millisecond)
	c.log.Warn(fmt.Sprintf("connection %s (%s): late heartbeats from client, nothing received for %v, timeout: %ds",
		c.id, name, silence, timeout), logfmt.KeyTimeout, timeout, logfmt.KeySilence, silence.Seconds())
	return true
}

// displayNameLocked is the connection's name as its log lines show it, for
// goroutines other than the reader: "peer -> local" or "peer -> local - NAME".
// c.ctl.mu is held.
func (c *Conn) displayNameLocked() string {
	if c.ctl.info.ClientName == "" {
		return c.ctl.info.Name
	}
	return c.ctl.info.Name + " - " + c.ctl.info.ClientName
}
