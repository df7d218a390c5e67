package broker

import (
	"errors"
	"fmt"

	"github.com/beatmq/beatmq/broker/internal/engine"
)

// Fault describes a fault to inject into one connection (Server.SetFault):
// its Kind, For (how long until it clears itself; 0: until ClearFault),
// Factor (slow-heartbeats: heartbeats every Factor·T/2, default 2) and
// Latency (latency: delay added to every outbound write).
type Fault = engine.Fault

// FaultKind is a kind of fault; see the constants for what each does and
// how the broker's own heartbeat detection treats it.
type FaultKind = engine.FaultKind

// Telemetry is a connection's heartbeat telemetry (ConnInfo.Telemetry).
type Telemetry = engine.Telemetry

// The fault kinds, and how the broker's own heartbeat detection (closed for
// missed heartbeats 2T–3T after the client's last octet) treats each; the
// README's "Fault injection" table says more. Their names, as the management
// API and beatmqctl take them, are FaultKind.String's.
const (
	// FaultNone: no fault (ConnInfo.Fault of a connection without one).
	FaultNone = engine.FaultNone
	// FaultMuteHeartbeats ("mute-heartbeats"): no heartbeat frames go out,
	// other frames do. Detection unaffected.
	FaultMuteHeartbeats = engine.FaultMuteHeartbeats
	// FaultSlowHeartbeats ("slow-heartbeats"): heartbeats every Factor·T/2.
	// Detection unaffected. Needs a negotiated heartbeat.
	FaultSlowHeartbeats = engine.FaultSlowHeartbeats
	// FaultFreezeOut ("freeze-out"): nothing is sent; frames are held, in
	// order, and released when the fault ends; heartbeats due are skipped.
	// Detection left running; octets the client sent that wait unread count
	// as activity.
	FaultFreezeOut = engine.FaultFreezeOut
	// FaultFreezeIn ("freeze-in"): the socket is not read. Detection left
	// running, not paused: a client whose octets wait unread is not closed,
	// one that sent nothing since the freeze began is, as without it.
	FaultFreezeIn = engine.FaultFreezeIn
	// FaultHalfOpen ("half-open"): both directions silently dropped (the
	// client's FIN or RST too), the socket kept open. Detected as a vanished
	// peer would be: late warning, then closed for missed heartbeats 2T–3T
	// after the last octet that got through; unacked deliveries requeued.
	FaultHalfOpen = engine.FaultHalfOpen
	// FaultLatency ("latency"): every outbound write waits Latency first.
	// Detection unaffected.
	FaultLatency = engine.FaultLatency
	// FaultReset ("reset"): RST now (SO_LINGER 0, close), no
	// connection.close; the connection ends with ReasonFaultReset.
	FaultReset = engine.FaultReset
)

// ParseFaultKind returns the kind called name ("half-open"); for any other
// name the error, which wraps ErrUnknownFaultKind, lists the valid kinds.
func ParseFaultKind(name string) (FaultKind, error) { return engine.ParseFaultKind(name) }

// FaultKinds returns every kind that can be injected.
func FaultKinds() []FaultKind { return engine.FaultKinds() }

// ErrUnknownFaultKind is wrapped by the errors for a fault kind that does
// not exist.
var ErrUnknownFaultKind = engine.ErrUnknownFaultKind

// ErrNoConnection is returned by SetFault and ClearFault when no connection
// has the name given.
var ErrNoConnection = errors.New("no such connection")

// SetFault injects f into the connection called name, replacing the fault in
// force there if any. name is a connection's ID ("<0.42.0>"), its Name
// ("127.0.0.1:54321 -> 127.0.0.1:5672", as the management API names it) or
// its client-provided connection_name (the newest connection with it).
// Every fault set and cleared is logged. Nothing changes when it fails: f
// invalid (an unknown kind; a factor or latency out of range), or no such
// connection (ErrNoConnection).
func (s *Server) SetFault(name string, f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	c := s.findConn(name)
	if c == nil {
		return fmt.Errorf("%w: %q", ErrNoConnection, name)
	}
	if err := c.SetFault(f); err != nil {
		if errors.Is(err, engine.ErrConnectionEnded) {
			return fmt.Errorf("%w: %q", ErrNoConnection, name)
		}
		return err
	}
	return nil
}

// ClearFault ends the fault injected into the connection called name (see
// SetFault), if any; it is not an error when none is in force.
func (s *Server) ClearFault(name string) error {
	c := s.findConn(name)
	if c == nil {
		return fmt.Errorf("%w: %q", ErrNoConnection, name)
	}
	c.ClearFault()
	return nil
}

// findConn returns the live connection whose ID or Name is name, else the
// newest whose client-provided name is name, else nil.
func (s *Server) findConn(name string) *engine.Conn {
	s.mu.Lock()
	conns := s.liveLocked()
	s.mu.Unlock()
	var byClient *engine.Conn
	var newest ConnInfo
	for _, c := range conns {
		in := c.Info()
		if in.State == StateTerminated {
			continue
		}
		if in.ID == name || in.Name == name {
			return c
		}
		if in.ClientName == name && (byClient == nil || in.ConnectedAt.After(newest.ConnectedAt)) {
			byClient, newest = c, in
		}
	}
	return byClient
}

// HeartbeatTotals are heartbeat events summed over every connection the
// server has served, for metrics.
type HeartbeatTotals struct {
	// MissedHeartbeatCloses counts connections closed for missed heartbeats.
	MissedHeartbeatCloses uint64
	// LateWarnings counts late-heartbeat warnings logged.
	LateWarnings uint64
}

// HeartbeatTotals returns the server's heartbeat counters.
func (s *Server) HeartbeatTotals() HeartbeatTotals {
	return HeartbeatTotals{
		MissedHeartbeatCloses: s.totals.MissedHeartbeatCloses.Load(),
		LateWarnings:          s.totals.LateWarnings.Load(),
	}
}
