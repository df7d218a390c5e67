package engine

import (
	"log/slog"
	"net"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/vhost"
)

// Host is what a connection needs from the server that accepted it. Every
// method must be safe for concurrent use: connections call it from their
// own goroutines.
type Host interface {
	// Alarm reports whether a resource alarm is in effect: a connection that
	// publishes while it is gets connection.blocked and is no longer read.
	Alarm() bool
	// AlarmResources names the resource alarms in effect ("disk", "memory"),
	// in the order connection.blocked's reason lists them.
	AlarmResources() []string
	// VHost returns the virtual host called name, or nil when there is none
	// (connection.open then fails with 530 NOT_ALLOWED).
	VHost(name string) *vhost.VHost
	// Login reports whether user's password is pw.
	Login(user, pw string) bool
	// VHostAccess reports whether user may open vhost (holds any
	// permission in it); connection.open is refused with 530 otherwise.
	VHostAccess(user, vhost string) bool
	// Access returns user's permission checks in vhost, which every
	// operation of the connection's channels passes (nil: none).
	Access(user, vhost string) vhost.Access
	// UserExists reports whether user is known (EXTERNAL logs in by a
	// certificate's name, without a password).
	UserExists(user string) bool
	// Impersonator reports whether user has the impersonator tag: its
	// messages may carry any user_id.
	Impersonator(user string) bool
	// Go runs f on a new goroutine that the server counts among the
	// connection goroutines it waits for when it stops. It is called on the
	// goroutine that f continues, before that goroutine exits.
	Go(f func())
	// Ended is called once, on the connection's last goroutine, when the
	// connection has ended: its socket is closed, its channels released,
	// and c.Info() is final.
	Ended(c *Conn)
}

// Settings is the configuration every connection of a server reads, with
// all defaults applied and in wire units. It must not change once a
// connection uses it.
type Settings struct {
	Heartbeat        uint16        // proposed in connection.tune; 0: none
	FrameMax         uint32        // proposed and enforced; 0: no limit
	ChannelMax       uint16        // proposed; 0: no limit
	HandshakeTimeout time.Duration // from accept until connection.open; 0: none
	// Unit is the real length of one second of protocol time (heartbeat
	// timeout, closing timeout, the 3-second silent close).
	Unit           time.Duration
	MaxMessageSize int64           // largest body accepted; 0: no limit
	Loopback       map[string]bool // users that may only log in from a loopback address
	// ServerProperties is connection.start's server-properties table (see
	// ServerProperties).
	ServerProperties amqp.Table
	// Log receives the connection's RabbitMQ-style log records; never nil.
	Log *slog.Logger
	// HeartbeatWarn is the client silence, in units of T, after which a
	// late-heartbeat warning is logged; 0: none.
	HeartbeatWarn float64
	// Totals, if not nil, sums heartbeat events over the server's connections.
	Totals *Totals
	// AuthMechanisms are the SASL mechanisms connection.start offers, in
	// this order (RabbitMQ's auth_mechanisms); nil means PLAIN, AMQPLAIN.
	// EXTERNAL among them is offered on TLS connections only (auth.go).
	AuthMechanisms []string
	// TLSVerifyPeer: TLS listeners verify client certificates (verify_peer);
	// EXTERNAL refuses every login without it, as RabbitMQ does.
	TLSVerifyPeer bool
	// CertLoginFrom names the user of an EXTERNAL login (conn_tls.go).
	CertLoginFrom CertLoginFrom
}

// New returns the connection on nc, not yet served.
func New(h Host, set *Settings, nc net.Conn) *Conn { return newConn(h, set, nc) }

// Serve runs the connection's read loop on the calling goroutine. It returns
// when the connection has ended, or earlier when the loop moved to a fresh
// goroutine started with Host.Go (see errFreshStack); Done tells which.
func (c *Conn) Serve() { c.serve() }

// Done returns a channel that is closed once the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Info returns a snapshot of the connection for inspection.
func (c *Conn) Info() ConnInfo { return c.snapshot() }

// RequestClose asks the connection to close with connection.close code and
// text, as RabbitMQ's forced closes do (shutdown, the management API); the
// first request wins. It returns at once.
func (c *Conn) RequestClose(code uint16, text string, reason CloseReason) {
	c.requestClose(code, text, reason)
}

// Abort resets the socket under the connection at once, with no
// connection.close, recording reason.
func (c *Conn) Abort(reason CloseReason) { c.abort(reason, nil) }

// AlarmCleared tells a connection that the resource alarm went off: a
// connection blocked by it gets connection.unblocked and is read again.
func (c *Conn) AlarmCleared() {
	c.ctl.mu.Lock()
	blocked := c.ctl.info.Blocked
	c.ctl.mu.Unlock()
	if blocked {
		c.post(intrAlarm)
	}
}
