package engine

import (
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// ConnInfo is a snapshot of one connection, for tests, the HTTP API and
// operators. It stays available after the connection has ended (see
// Server.ClosedConnections).
type ConnInfo struct {
	// ID is the id on every log line about the connection, e.g. "<0.42.0>".
	ID string
	// Name is RabbitMQ's connection name, "127.0.0.1:46404 -> 127.0.0.1:5672",
	// which the management API uses to address the connection.
	Name string
	// ClientName is the client-provided connection_name property, if any.
	ClientName string
	// Peer and Local are the client's and the broker's addresses.
	Peer, Local string
	// State is the connection's state; StateTerminated once it has ended.
	State ConnState
	// User is the authenticated user; VHost the virtual host once open.
	User, VHost string
	// AuthMechanism is PLAIN, AMQPLAIN or EXTERNAL once start-ok has arrived.
	AuthMechanism string
	// TLS describes the connection's TLS session; its Version is "" on a
	// plain TCP connection.
	TLS TLSInfo
	// ClientProperties are the client's start-ok properties.
	ClientProperties amqp.Table
	// Heartbeat is the negotiated heartbeat timeout T in seconds (the client's
	// tune-ok value; 0 = none); FrameMax and ChannelMax likewise. All are 0
	// before tune-ok.
	Heartbeat  uint16
	FrameMax   uint32
	ChannelMax uint16
	// Channels is the number of open channels.
	Channels int
	// Blocked is true while a resource alarm keeps the connection from reading.
	Blocked bool
	// Flow is true while only credit flow keeps it from reading (RabbitMQ's
	// state "flow"); Blocked is then true too.
	Flow bool
	// ConnectedAt is when the TCP connection was accepted; ClosedAt when it
	// ended (zero while open).
	ConnectedAt, ClosedAt time.Time
	// Reason is why the connection ended or is ending (ReasonNone while open).
	Reason CloseReason
	// CloseCode and CloseText are those of the connection.close that was sent
	// or received, if any.
	CloseCode uint16
	CloseText string
	// RecvOctets and SendOctets count the octets read and written.
	RecvOctets, SendOctets uint64
	// Telemetry is the connection's heartbeat telemetry.
	Telemetry Telemetry
	// Fault is the injected fault in force (Kind FaultNone: none), set at
	// FaultSince.
	Fault      Fault
	FaultSince time.Time
}
