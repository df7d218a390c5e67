package broker

import (
	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/vhost"
)

// ConnStats is what metrics read of one connection (see engine.ConnStats'
// fields): less than ConnInfo, so that reading thousands stays cheap.
type ConnStats = engine.ConnStats

// VHostStats are one virtual host's counters.
type VHostStats struct {
	// Name is the virtual host's name.
	Name string
	vhost.Stats
}

// Stats is a snapshot of the server's counters and of the connections
// not yet ended, for metrics (broker/metrics reads it at every scrape).
// Counters only grow, from one snapshot to the next.
type Stats struct {
	// ConnectionsOpened counts connections that completed connection.open;
	// ConnectionsClosed every connection that ended, opened or not (as
	// RabbitMQ counts them).
	ConnectionsOpened, ConnectionsClosed uint64
	// ChannelsOpened and ChannelsClosed count channels opened and closed.
	ChannelsOpened, ChannelsClosed uint64
	// AuthSucceeded and AuthFailed count logins accepted and refused.
	AuthSucceeded, AuthFailed uint64
	// MissedHeartbeatCloses counts connections closed for missed
	// heartbeats; LateHeartbeatWarnings the late-heartbeat warnings logged.
	MissedHeartbeatCloses, LateHeartbeatWarnings uint64
	// HeartbeatsSent and HeartbeatsReceived count heartbeat frames over
	// every connection the server has served, ended ones included.
	HeartbeatsSent, HeartbeatsReceived uint64
	// Connections are the connections accepted and not yet ended, in no
	// particular order: those still in the handshake and those closing
	// included.
	Connections []ConnStats
	// VHosts are the virtual hosts' counters, sorted by name.
	VHosts []VHostStats
}

// Stats returns the server's counters and its connections. The ended
// connections' heartbeat counts and the list of live ones are taken under
// one lock, so a connection ending meanwhile is counted exactly once.
func (s *Server) Stats() Stats {
	t := &s.totals
	st := Stats{
		ConnectionsOpened: t.ConnectionsOpened.Load(), ConnectionsClosed: t.ConnectionsClosed.Load(),
		ChannelsOpened: t.ChannelsOpened.Load(), ChannelsClosed: t.ChannelsClosed.Load(),
		AuthSucceeded: t.AuthSucceeded.Load(), AuthFailed: t.AuthFailed.Load(),
		MissedHeartbeatCloses: t.MissedHeartbeatCloses.Load(), LateHeartbeatWarnings: t.LateWarnings.Load(),
	}
	s.mu.Lock()
	conns := s.liveLocked()
	st.HeartbeatsSent, st.HeartbeatsReceived = s.endedBeats.sent, s.endedBeats.received
	s.mu.Unlock()
	st.Connections = make([]ConnStats, 0, len(conns))
	for _, c := range conns {
		cs := c.Stats()
		st.Connections = append(st.Connections, cs)
		st.HeartbeatsSent += cs.HeartbeatsSent
		st.HeartbeatsReceived += cs.HeartbeatsReceived
	}
	for _, name := range s.VHosts() {
		st.VHosts = append(st.VHosts, VHostStats{Name: name, Stats: s.vhosts[name].Stats()})
	}
	return st
}
