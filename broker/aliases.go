package broker

import "github.com/beatmq/beatmq/broker/internal/engine"

// Version is beatmq's version, advertised in connection.start.
const Version = engine.Version

// Product is the default product name advertised in connection.start
// (Config.Product overrides it).
const Product = engine.Product

// ConnInfo is a snapshot of one connection, for tests, the HTTP API and
// operators (see engine.ConnInfo's fields). It stays available after the
// connection has ended (see Server.ClosedConnections).
type ConnInfo = engine.ConnInfo

// CloseReason is why a connection ended, one value per kind of end, the
// same in logs, the management API and brokertest.
type CloseReason = engine.CloseReason

// ConnState is the state of a connection, as RabbitMQ names them.
type ConnState = engine.ConnState

// The close reasons (see CloseReason.String for the names shown).
const (
	ReasonNone               = engine.ReasonNone
	ReasonClientClose        = engine.ReasonClientClose
	ReasonUnexpectedClose    = engine.ReasonUnexpectedClose
	ReasonHealthCheck        = engine.ReasonHealthCheck
	ReasonMissedHeartbeats   = engine.ReasonMissedHeartbeats
	ReasonHandshakeTimeout   = engine.ReasonHandshakeTimeout
	ReasonBadHeader          = engine.ReasonBadHeader
	ReasonNegotiationFailed  = engine.ReasonNegotiationFailed
	ReasonAuthFailed         = engine.ReasonAuthFailed
	ReasonHandshakeError     = engine.ReasonHandshakeError
	ReasonConnectionError    = engine.ReasonConnectionError
	ReasonFrameError         = engine.ReasonFrameError
	ReasonForced             = engine.ReasonForced
	ReasonSocketError        = engine.ReasonSocketError
	ReasonHeartbeatSendError = engine.ReasonHeartbeatSendError
	ReasonFaultReset         = engine.ReasonFaultReset
	ReasonPeerUnreachable    = engine.ReasonPeerUnreachable
)

// The connection states, in the order a connection goes through them.
const (
	StatePreInit    = engine.StatePreInit
	StateStarting   = engine.StateStarting
	StateTuning     = engine.StateTuning
	StateOpening    = engine.StateOpening
	StateRunning    = engine.StateRunning
	StateBlocked    = engine.StateBlocked
	StateClosing    = engine.StateClosing
	StateClosed     = engine.StateClosed
	StateTerminated = engine.StateTerminated
)
