package broker

import (
	"github.com/beatmq/beatmq/broker/vhost"
)

// ChannelInfo describes one open channel of an open connection, as the
// management API lists channels.
type ChannelInfo struct {
	// Conn is the channel's connection.
	Conn ConnInfo
	// Number is the channel number.
	Number uint16
	// Unconfirmed counts the publishes (confirm mode) not yet acked or
	// nacked to the client.
	Unconfirmed int
	// Closing is set once the channel sends nothing more.
	Closing bool
	// Session describes the channel's messaging state: prefetch,
	// consumers, unacknowledged deliveries, confirm and tx modes, counters
	// (all zero before the channel's first messaging method).
	Session vhost.SessionInfo
}

// Channels returns the open channels of the connections that are running
// (open, not closing), by connection then channel number.
func (s *Server) Channels() []ChannelInfo {
	s.mu.Lock()
	conns := s.liveLocked()
	s.mu.Unlock()
	var out []ChannelInfo
	for _, c := range conns {
		in := c.Info()
		if in.State != StateRunning && in.State != StateBlocked {
			continue
		}
		for _, ch := range c.Channels() {
			ci := ChannelInfo{Conn: in, Number: ch.Number, Unconfirmed: ch.Unconfirmed, Closing: ch.Closing}
			if ch.Session != nil {
				ci.Session = ch.Session.Info()
			}
			out = append(out, ci)
		}
	}
	return out
}
