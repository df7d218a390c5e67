package engine

// CloseReason says why a connection ended. It is recorded once, by whichever
// event ends the connection first, and stays readable after the close.
type CloseReason uint8

// The reasons a connection ends.
const (
	// ReasonNone: the connection is still open.
	ReasonNone CloseReason = iota
	// ReasonClientClose: the client sent connection.close (clean close).
	ReasonClientClose
	// ReasonUnexpectedClose: the client closed TCP without connection.close.
	ReasonUnexpectedClose
	// ReasonHealthCheck: the client closed TCP before sending a single byte.
	ReasonHealthCheck
	// ReasonMissedHeartbeats: nothing arrived for two heartbeat checks (2T–3T).
	ReasonMissedHeartbeats
	// ReasonHandshakeTimeout: connection.open did not complete in time.
	ReasonHandshakeTimeout
	// ReasonBadHeader: the protocol header was not one beatmq speaks.
	ReasonBadHeader
	// ReasonNegotiationFailed: tune-ok carried an unacceptable frame_max or channel_max.
	ReasonNegotiationFailed
	// ReasonAuthFailed: the login was refused.
	ReasonAuthFailed
	// ReasonHandshakeError: another protocol error before connection.open completed.
	ReasonHandshakeError
	// ReasonConnectionError: the broker closed the connection with a hard error (CloseCode).
	ReasonConnectionError
	// ReasonFrameError: a fatal frame error; the socket was closed 3 s after connection.close.
	ReasonFrameError
	// ReasonForced: the broker closed the connection on purpose (shutdown, operator).
	ReasonForced
	// ReasonSocketError: reading or writing the socket failed.
	ReasonSocketError
	// ReasonHeartbeatSendError: writing a heartbeat failed (typically while blocked).
	ReasonHeartbeatSendError
	// ReasonFaultReset: the reset fault was injected (fault injection).
	ReasonFaultReset
	// ReasonPeerUnreachable: while the connection was blocked (not read), the
	// peer's host stopped acknowledging what was sent to it for two heartbeat
	// checks (heartbeat.Config.PeerAcks): its host is gone.
	ReasonPeerUnreachable
)

var reasonNames = [...]string{
	ReasonNone:               "none",
	ReasonClientClose:        "client_close",
	ReasonUnexpectedClose:    "client_unexpectedly_closed",
	ReasonHealthCheck:        "closed_with_no_data",
	ReasonMissedHeartbeats:   "missed_heartbeats",
	ReasonHandshakeTimeout:   "handshake_timeout",
	ReasonBadHeader:          "bad_header",
	ReasonNegotiationFailed:  "negotiation_failed",
	ReasonAuthFailed:         "auth_failed",
	ReasonHandshakeError:     "handshake_error",
	ReasonConnectionError:    "connection_error",
	ReasonFrameError:         "fatal_frame_error",
	ReasonForced:             "connection_forced",
	ReasonSocketError:        "socket_error",
	ReasonHeartbeatSendError: "heartbeat_send_error",
	ReasonFaultReset:         "fault_reset",
	ReasonPeerUnreachable:    "peer_unreachable",
}

// String returns a snake_case name, as used in logs and the HTTP API.
func (r CloseReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// ConnState is the state of a connection, as RabbitMQ names them.
type ConnState uint8

// Connection states, in the order a connection goes through them.
const (
	StatePreInit    ConnState = iota // waiting for the protocol header
	StateStarting                    // connection.start sent
	StateTuning                      // connection.tune sent
	StateOpening                     // tune-ok received, waiting for connection.open
	StateRunning                     // open
	StateBlocked                     // open, not reading: a resource alarm is on and it published
	StateClosing                     // the client sent connection.close; channels are being released
	StateClosed                      // connection.close or close-ok sent; waiting for the peer
	StateTerminated                  // socket closed, goroutines gone
)

var stateNames = [...]string{"pre_init", "starting", "tuning", "opening", "running", "blocked", "closing", "closed", "terminated"}

// String returns RabbitMQ's name for the state.
func (s ConnState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}
