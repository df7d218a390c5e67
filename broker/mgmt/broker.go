package mgmt

import "time"

// Broker is what the management API needs from the broker. The broker
// implements it with a small adapter; every method must be safe for
// concurrent use, because each HTTP request runs on its own goroutine.
//
// Methods return snapshots: the handler does not keep or modify what they
// return.
type Broker interface {
	// Overview describes the node: product version, node name, start time and
	// listeners. Object and message totals are computed by the handler from
	// Connections, Queues and Exchanges.
	Overview() Overview

	// Connections lists the open AMQP connections: those that have completed
	// connection.open and are not closing or closed. A connection must leave
	// this list as soon as it starts to close, so that a client that
	// reconnects under the same connection_name is the only match.
	Connections() []Connection

	// CloseConnection force-closes the connection whose Connection.Name is
	// name, as RabbitMQ's management plugin does: the broker sends
	// connection.close with reply code 320 and reply text
	// "CONNECTION_FORCED - " + reason, then tears the connection down as for
	// any close (unacked messages requeued, exclusive queues deleted,
	// consumers cancelled). It reports false when no such open connection
	// exists. It should return once the connection's channels are torn down
	// and connection.close is written, not when the client answers; RabbitMQ
	// terminates the channels before it sends connection.close too, so a
	// client that reconnects at once finds its old consumers gone.
	CloseConnection(name, reason string) bool

	// Queues lists the queues of every virtual host.
	Queues() []Queue

	// Exchanges lists the exchanges of every virtual host, including the
	// default exchange (Name "") and the amq.* exchanges. A virtual host
	// exists, for the API, when it has at least one exchange.
	Exchanges() []Exchange

	// Memory reports memory use and the high watermark.
	Memory() Memory

	// SetMemoryHighWatermark sets the memory high watermark to fraction (0 to
	// 1) of Memory().Total, raising or clearing the memory alarm at once if
	// the new limit calls for it. The handler has already checked that
	// fraction is within [0, 1]; an error is reported to the caller as 400.
	SetMemoryHighWatermark(fraction float64) error

	// Disk reports the free space on the data directory's filesystem
	// against the disk free limit.
	Disk() Disk

	// SetDiskFreeLimit sets the disk free limit, written in one of the forms
	// RabbitMQ's disk_free_limit takes ("50000000", "50MB", "2GiB",
	// "{mem_relative,1.5}"), raising or clearing the disk alarm at once if
	// the new limit calls for it. An error (a bad form, no disk monitor) is
	// reported to the caller as 400.
	SetDiskFreeLimit(limit string) error

	// Authenticate checks a user's password and returns the user's tags
	// ("administrator", "monitoring", "policymaker", "management", as
	// RabbitMQ's user tags). The default user guest/guest should have
	// []string{"administrator"}: the amqp091-go suite reads and deletes
	// connections as guest. A user without any of those four tags may not use
	// the API at all.
	Authenticate(user, pass string) (tags []string, ok bool)

	// SetFault injects f into the connection called name (its Name, or
	// whatever else the broker accepts), replacing the fault in force. It
	// returns ErrNoConnection (or an error wrapping it) for an unknown
	// connection, any other error for a fault the broker refuses (answered
	// 400 with the error's text: for an unknown kind it should list the
	// valid kinds); a refused fault must change nothing.
	SetFault(name string, f Fault) error

	// ClearFault ends the fault injected into the connection called name,
	// if any; ErrNoConnection for an unknown connection.
	ClearFault(name string) error

	// Accounts keeps the users, vhosts and permissions.
	Accounts
	// Policies keeps the vhosts' policies.
	Policies
	// Messaging acts on queues and exchanges for a user, and lists
	// bindings and channels.
	Messaging
}

// Overview describes the node for GET /api/overview and GET /api/nodes.
type Overview struct {
	// ProductVersion is beatmq's version ("product_version").
	ProductVersion string
	// Node is the node name, e.g. "beatmq@hostname" ("node").
	Node string
	// ClusterName is shown as "cluster_name"; empty means Node.
	ClusterName string
	// StartedAt is when the broker started; the node's uptime derives from it.
	StartedAt time.Time
	// Listeners are the sockets the node listens on, AMQP and HTTP alike.
	Listeners []Listener
}

// ProtocolPrometheus is the protocol of rabbitmq_prometheus's listener in
// RabbitMQ's overview (its default port is 15692).
const ProtocolPrometheus = "http/prometheus"

// Listener is one listening socket of the node.
type Listener struct {
	// Protocol is "amqp" for AMQP 0-9-1, "amqp/ssl" for AMQP over TLS,
	// "http" for the management API and ProtocolPrometheus for the
	// Prometheus metrics, as RabbitMQ names them.
	Protocol string
	// IPAddress is the address listened on ("127.0.0.1", "::").
	IPAddress string
	// Port is the TCP port listened on.
	Port int
}

// Connection describes one open AMQP connection for GET /api/connections.
type Connection struct {
	// Name identifies the connection in URLs and is unique among open
	// connections: "peer_host:peer_port -> host:port", e.g.
	// "127.0.0.1:54321 -> 127.0.0.1:5672", as RabbitMQ names connections
	// in its management API (without the " - NAME" suffix its logs add).
	Name string
	// Node is the node name; empty leaves "node" out.
	Node string
	// User is the authenticated user name.
	User string
	// Vhost is the virtual host opened with connection.open.
	Vhost string
	// PeerHost and PeerPort are the client's address.
	PeerHost string
	PeerPort int
	// Host and Port are the broker's address on this connection.
	Host string
	Port int
	// State is RabbitMQ's connection state: "running", "blocking" (an alarm
	// is in effect but the connection has not published since), "blocked",
	// "flow" (held by credit flow only) or "closing". Empty means "running".
	State string
	// Protocol is the protocol spoken; empty means "AMQP 0-9-1".
	Protocol string
	// AuthMechanism is the SASL mechanism used, "PLAIN", "AMQPLAIN" or
	// "EXTERNAL".
	AuthMechanism string
	// SSLProtocol is the TLS version as RabbitMQ shows it ("tlsv1.3"), ""
	// on a plain TCP connection.
	SSLProtocol string
	// PeerCertSubject is the client certificate's subject ("CN=alice"), ""
	// without one.
	PeerCertSubject string
	// ClientProperties are the client properties of connection.start-ok,
	// converted from the AMQP field table: a nested table becomes a
	// map[string]any, an array a []any, a decimal the float64 of
	// RabbitMQDecimal; strings, []byte, bool, integer and float types,
	// time.Time and nil are taken as they are. The handler renders them as RabbitMQ does (byte strings that
	// are not UTF-8 as "Not UTF-8, base64 is: …", timestamps as seconds).
	ClientProperties map[string]any
	// Timeout is the negotiated heartbeat timeout in seconds (0: none).
	Timeout uint16
	// FrameMax and ChannelMax are the negotiated limits.
	FrameMax   uint32
	ChannelMax uint16
	// Channels is the number of open channels.
	Channels int
	// ConnectedAt is when the TCP connection was accepted.
	ConnectedAt time.Time
	// RecvOct, RecvCnt, SendOct and SendCnt count octets and frames received
	// and sent.
	RecvOct, RecvCnt, SendOct, SendCnt uint64
	// Heartbeat is beatmq's heartbeat telemetry of the connection, shown as
	// the beatmq_heartbeat_* fields.
	Heartbeat HeartbeatTelemetry
	// Fault is the kind of the fault injected into the connection, "" for
	// none (beatmq_fault).
	Fault string
}

// HeartbeatTelemetry is a connection's heartbeat telemetry (beatmq's own;
// RabbitMQ has none).
type HeartbeatTelemetry struct {
	// Received and Sent count heartbeat frames.
	Received, Sent uint64
	// CadenceLast and CadenceMedian are the last and the median interval
	// between heartbeat frames received (0 before two).
	CadenceLast, CadenceMedian time.Duration
	// Interval is the negotiated T in real time (0: no heartbeat).
	Interval time.Duration
	// SilenceInMax and SilenceOutMax are the longest gaps without an octet
	// received and sent, the current one included.
	SilenceInMax, SilenceOutMax time.Duration
	// RecvAge and SendAge are the ages of the last octet received and sent.
	RecvAge, SendAge time.Duration
	// LateWarnings counts late-heartbeat warnings logged.
	LateWarnings uint64
}

// Queue describes one queue for GET /api/queues.
type Queue struct {
	// Name and Vhost identify the queue.
	Name  string
	Vhost string
	// Node is the node name; empty leaves "node" out.
	Node string
	// Durable, AutoDelete and Exclusive are the declared properties.
	Durable    bool
	AutoDelete bool
	Exclusive  bool
	// Type is the queue type, "classic" (also when empty) or "quorum".
	Type string
	// Owner is the Name of the connection that owns an exclusive queue.
	Owner string
	// Arguments are the declared x-arguments, converted as
	// Connection.ClientProperties.
	Arguments map[string]any
	// MessagesReady counts messages waiting for delivery;
	// MessagesUnacknowledged those delivered and not yet acknowledged.
	MessagesReady          int
	MessagesUnacknowledged int
	// MessageBytes is the total body size of those messages.
	MessageBytes uint64
	// MessagesPersistent counts the messages kept on disk (persistent
	// messages of a durable queue), MessageBytesPersistent their body size.
	MessagesPersistent     int
	MessageBytesPersistent uint64
	// MessagesPagedOut counts the ready messages whose bodies are only on
	// disk (paged out), MessageBytesPagedOut their body size.
	MessagesPagedOut     int
	MessageBytesPagedOut uint64
	// Consumers is the number of consumers.
	Consumers int
	// ExclusiveConsumerTag is the tag of an exclusive consumer, if any.
	ExclusiveConsumerTag string
	// State is "running" when empty.
	State string
	// Policy names the queue's policy ("" for none), PolicyDefinition is
	// its definition ("policy", "effective_policy_definition").
	Policy           string
	PolicyDefinition map[string]any
}

// Exchange describes one exchange for GET /api/exchanges.
type Exchange struct {
	// Name and Vhost identify the exchange; the default exchange has Name "".
	Name  string
	Vhost string
	// Type is "direct", "fanout", "topic" or "headers".
	Type string
	// Durable, AutoDelete and Internal are the declared properties.
	Durable    bool
	AutoDelete bool
	Internal   bool
	// Arguments are the declared arguments, converted as
	// Connection.ClientProperties.
	Arguments map[string]any
	// Policy names the exchange's policy, "" for none.
	Policy string
}

// Memory reports the broker's memory use against its high watermark.
type Memory struct {
	// Used is the memory the broker counts against the limit, in bytes.
	Used uint64
	// Total is the memory the watermark is a fraction of, in bytes.
	Total uint64
	// HighWatermark is the configured fraction of Total.
	HighWatermark float64
	// Limit is HighWatermark × Total, in bytes: above it the alarm is raised.
	Limit uint64
	// Alarm tells whether the memory alarm is in effect.
	Alarm bool
}

// Disk reports the free disk space against the disk free limit.
type Disk struct {
	// Monitored is false when no disk monitor runs (no data directory): the
	// other fields are then zero.
	Monitored bool
	// Free is the space available on the data directory's filesystem at the
	// last check, in bytes.
	Free uint64
	// Limit is the disk free limit in bytes: below it the alarm is raised.
	Limit uint64
	// Setting is the limit as configured, in a form SetDiskFreeLimit takes.
	Setting string
	// Alarm tells whether the disk alarm is in effect.
	Alarm bool
}
