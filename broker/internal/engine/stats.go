package engine

import (
	"sync/atomic"
	"time"
)

// Totals are server-wide counters summed over every connection, for
// metrics. Each counts an event that happens at most a few times in a
// connection's life (never per message or per heartbeat), so one shared
// set costs nothing that matters, and an idle connection holds no counter
// of its own.
type Totals struct {
	// MissedHeartbeatCloses counts connections closed for missed
	// heartbeats; LateWarnings the late-heartbeat warnings logged.
	MissedHeartbeatCloses atomic.Uint64
	LateWarnings          atomic.Uint64

	// ConnectionsOpened counts connection.open-ok sent;
	// ConnectionsClosed every connection that ended, whether or not it
	// was opened, as RabbitMQ's connections_closed_total counts every
	// reader that terminates (rabbit_reader's start_connection/3 calls
	// rabbit_core_metrics:connection_closed/1 for any accepted socket).
	ConnectionsOpened, ConnectionsClosed atomic.Uint64
	// ChannelsOpened counts channel.open-ok sent; ChannelsClosed the
	// channels that closed for any reason, their connection's end
	// included.
	ChannelsOpened, ChannelsClosed atomic.Uint64
	// AuthSucceeded and AuthFailed count logins accepted and refused
	// (rabbit_core_metrics:auth_attempt_succeeded/3, _failed/3).
	AuthSucceeded, AuthFailed atomic.Uint64
}

// countEnd adds a connection that ended to the server's totals. Reader
// goroutine, at teardown.
func (c *Conn) countEnd() {
	t := c.set.Totals
	if t == nil {
		return
	}
	t.ConnectionsClosed.Add(1)
	if c.fin.reason == ReasonMissedHeartbeats {
		t.MissedHeartbeatCloses.Add(1)
	}
}

// ConnStats is what metrics read of one connection: less than ConnInfo
// (no client properties, no cadence), so that a scrape over many
// connections stays cheap.
type ConnStats struct {
	// ID is the connection's id ("<0.42.0>"), VHost its virtual host
	// once connection.open has completed ("" before).
	ID, VHost string
	// State is the connection's state.
	State ConnState
	// Channels is the number of open channels.
	Channels int
	// RecvOctets and SendOctets count the octets read and written.
	RecvOctets, SendOctets uint64
	// Interval is the negotiated heartbeat T in real time (0: none).
	Interval time.Duration
	// LastReceivedAge is the age of the last octet read (since accept
	// when there was none).
	LastReceivedAge time.Duration
	// HeartbeatsReceived and HeartbeatsSent count heartbeat frames.
	HeartbeatsReceived, HeartbeatsSent uint64
}

// Stats returns the connection's ConnStats. Any goroutine.
func (c *Conn) Stats() ConnStats {
	c.ctl.mu.Lock()
	defer c.ctl.mu.Unlock()
	in := &c.ctl.info
	st := ConnStats{
		ID: in.ID, VHost: in.VHost, State: in.State, Channels: in.Channels,
		Interval: time.Duration(in.Heartbeat) * c.set.Unit,
	}
	if in.State == StateTerminated {
		st.RecvOctets, st.SendOctets = in.RecvOctets, in.SendOctets
		st.LastReceivedAge = in.Telemetry.LastReceivedAge
		st.HeartbeatsReceived, st.HeartbeatsSent = in.Telemetry.HeartbeatsReceived, in.Telemetry.HeartbeatsSent
		return st
	}
	st.RecvOctets, st.SendOctets = c.cc.Received(), c.cc.Sent()
	st.LastReceivedAge = time.Duration(c.sinceAccept() - c.tele.lastIn.Load())
	st.HeartbeatsReceived, st.HeartbeatsSent = c.tele.recvBeats, c.tele.sentBeats.Load()
	return st
}
