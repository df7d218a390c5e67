package broker

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"time"

	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/password"
)

// RabbitMQ 3.10.8's defaults (deps/rabbit/Makefile app env; rabbit_reader.erl).
const (
	DefaultAddr     = "127.0.0.1:5672"
	DefaultMgmtAddr = "127.0.0.1:15672"
	// DefaultPrometheusAddr is rabbitmq_prometheus's port (15692), on
	// loopback as the other listeners.
	DefaultPrometheusAddr   = "127.0.0.1:15692"
	DefaultHeartbeat        = 60     // seconds, proposed in connection.tune
	DefaultFrameMax         = 131072 // octets, proposed in connection.tune
	DefaultChannelMax       = 2047   // proposed in connection.tune (rabbitmq-server#1593)
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxMessageSize   = 128 << 20 // max_message_size, 134217728
	// DefaultHeartbeatWarn is beatmq's own (RabbitMQ has no such warning):
	// a client silent for 1.5 T has missed the two heartbeats it should have
	// sent at T/2 and T, and the warning (checked every T/2) still comes
	// before the earliest close, 2T after the last octet.
	DefaultHeartbeatWarn = 1.5
)

// None, in a numeric Config field, asks for what RabbitMQ's configuration
// means by 0: no heartbeat, no limit, no timeout. Every negative value means
// the same; None is the one to write.
const None = -1

// number is the type of a numeric Config field.
type number interface {
	~int | ~int64 | ~float64
}

// Explicit returns the Config value that asks for exactly v, where v is given
// as RabbitMQ's configuration, beatmq's flags and brokertest's options give
// it: 0 (none) becomes None, anything else stays itself. It is how a value
// that was set on purpose enters a Config, whose 0 means "not set".
func Explicit[T number](v T) T {
	if v == 0 {
		return None
	}
	return v
}

// resolve applies Config's rule to one field: 0 is def, negative is 0 (none),
// anything else is v.
func resolve[T number](v, def T) T {
	if v < 0 {
		return 0
	}
	return cmp.Or(v, def)
}

// Config holds everything a Server needs, as net/http.Server does: a struct
// with documented zero values, DefaultConfig and Validate.
//
// One rule covers every field: its zero value means RabbitMQ 3.10.8's
// default, so Config{} is a working configuration. The limits (Heartbeat,
// FrameMax, ChannelMax, HandshakeTimeout, MaxMessageSize)
// take None (any negative value) for what RabbitMQ's own configuration means
// by 0: no heartbeat, no limit, no timeout. Any other value
// is used as it is. Explicit maps a value given RabbitMQ's way (0 = none), as
// beatmq's flags and brokertest's options take it, onto this rule.
type Config struct {
	// Addr is the address ListenAndServe listens on. "" means DefaultAddr.
	Addr string

	// MgmtAddr is the address of the HTTP management API. "" disables it.
	// Config{} leaves it disabled; DefaultConfig sets DefaultMgmtAddr.
	MgmtAddr string

	// PrometheusAddr is the address of the Prometheus metrics
	// (broker/metrics). "" disables them. Config{} leaves them disabled;
	// DefaultConfig sets DefaultPrometheusAddr.
	PrometheusAddr string

	// Heartbeat is the heartbeat timeout, in seconds, proposed in
	// connection.tune (default DefaultHeartbeat; None proposes 0). Whatever
	// the client answers in tune-ok (0..65535) is used, as RabbitMQ does.
	Heartbeat int

	// FrameMax is the largest frame, in octets, proposed in connection.tune
	// and enforced after tune-ok (default DefaultFrameMax; None proposes 0,
	// no limit). A positive value must be at least 4096.
	FrameMax int

	// ChannelMax is the highest channel count proposed in connection.tune
	// (default DefaultChannelMax; None proposes 0, no limit).
	ChannelMax int

	// HandshakeTimeout bounds the time from accept until connection.open has
	// been answered (default DefaultHandshakeTimeout; None: no timeout).
	HandshakeTimeout time.Duration

	// HeartbeatUnit is the real length of one second of AMQP protocol time: the
	// negotiated heartbeat timeout T, the closing timeout (T, or 30 when T is 0
	// or ≥ 30) and the 3-second silent-close delay are multiplied by it.
	// 0 means time.Second; it cannot be None. Tests shorten it (T = 1 on the
	// wire then lasts, say, 100 ms); a broker that real clients use must keep
	// the default.
	HeartbeatUnit time.Duration

	// HeartbeatWarn is the client silence, in units of the negotiated
	// heartbeat T, after which a late-heartbeat warning is logged (at most
	// once per silence, and not once the connection is closing): default
	// DefaultHeartbeatWarn; None: no warning. It must be below 3 (the
	// latest close); at 1.5 or less the warning always precedes the close.
	HeartbeatWarn float64

	// MaxMessageSize bounds a published message body (default
	// DefaultMaxMessageSize; None: no limit beyond memory).
	MaxMessageSize int64

	// TCPKeepAlive turns TCP keepalive on for accepted connections, with the
	// operating system's periods (RabbitMQ's tcp_listen_options keepalive;
	// default false, as RabbitMQ's, where Go's own default is on with 15 s
	// periods). Heartbeats are what finds dead peers; keepalive only matters
	// for connections that negotiated none.
	TCPKeepAlive bool

	// DisableTCPNoDelay turns Nagle's algorithm back on for accepted
	// connections (RabbitMQ's tcp_listen_options nodelay false). The default
	// is TCP_NODELAY on, RabbitMQ's default and Go's: a lone frame (a
	// heartbeat, a confirm) leaves at once.
	DisableTCPNoDelay bool

	// TLSAddr is the address of the amqps listener, "" for none (the
	// default, as RabbitMQ's listeners.ssl). The beatmq command listens on
	// it and calls ServeTLS; embedders call ServeTLS themselves.
	TLSAddr string

	// TLS configures ServeTLS's connections: certificate, client
	// verification (ClientAuth VerifyClientCertIfGiven or
	// RequireAndVerifyClientCert is RabbitMQ's verify_peer, the latter with
	// fail_if_no_peer_cert). nil: no TLS. TLSConfig builds it from
	// RabbitMQ's ssl_options; a MinVersion of 0 becomes TLS 1.2, and an
	// older one is refused.
	TLS *tls.Config

	// SSLCertLoginFrom names the user of an EXTERNAL login from the client
	// certificate (RabbitMQ's ssl_cert_login_from): "" or "common_name"
	// (the subject's CN, the default) or "distinguished_name" (the whole
	// subject, "CN=client,O=example").
	SSLCertLoginFrom string

	// AuthMechanisms are the SASL mechanisms offered in connection.start, in
	// this order (RabbitMQ's auth_mechanisms): "PLAIN", "AMQPLAIN" and
	// "EXTERNAL" (a login named by the client certificate, RabbitMQ's
	// rabbitmq_auth_mechanism_ssl). nil or empty means RabbitMQ's default,
	// PLAIN and AMQPLAIN. EXTERNAL, when listed, is offered on TLS
	// connections only, as RabbitMQ's should_offer/1 does; unlisted, it is
	// not offered at all, since clients such as py-amqp (under kombu and
	// Celery) pick EXTERNAL whenever it is offered, even with a password.
	AuthMechanisms []string

	// Users may log in. nil means one user, guest with password guest.
	// They are the first users of a broker, each with every permission on
	// every vhost and, unless its Tags say otherwise, the administrator tag.
	// With a DataDir they seed its user database only when it has none, as
	// RabbitMQ creates its default user on a node's first start: from then
	// on, users, vhosts and permissions are the ones kept there (changed
	// through the management API or beatmqctl).
	Users []User

	// LoopbackUsers may only connect from a loopback address. nil means
	// ["guest"]; an empty non-nil slice means nobody is restricted.
	LoopbackUsers []string

	// VHosts lists the virtual hosts a broker starts with. nil means ["/"].
	// With a DataDir whose definitions already hold users, the vhosts kept
	// there are the ones, as with Users.
	VHosts []string

	// DataDir is where durable queues' persistent messages and the durable
	// topology (exchanges, queues, bindings) are kept, so that they survive
	// a restart or a crash. "" keeps everything in memory only (Config{}
	// and DefaultConfig; the beatmq command defaults to ./beatmq-data).
	// A directory that holds anything else is refused, and so is one that
	// another broker has open.
	DataDir string

	// Sync says when a persistent message routed to a durable queue is
	// durable enough for its publisher confirm (and a tx.commit-ok):
	// SyncData (the zero value, RabbitMQ's behaviour) after fdatasync,
	// SyncWrite after write(2). Only with DataDir.
	Sync SyncMode

	// Product is the product name advertised in connection.start's server
	// properties. "" means "beatmq". Some client test suites assert certain
	// behaviours only when it is "RabbitMQ"; setting it so lets them check
	// beatmq too.
	Product string

	// ClusterName is advertised in the server properties. "" means
	// "beatmq@" + the host name.
	ClusterName string

	// Logger receives RabbitMQ-style log records (see broker/logfmt). nil
	// discards them, which is what an embedded broker wants.
	Logger *slog.Logger

	// beforeStoreBatch is the store's BeforeBatch hook: tests stand in
	// for a slow disk with it (export_test.go).
	beforeStoreBatch func()
}

// DefaultConfig returns the configuration of a stand-alone broker: every
// RabbitMQ default spelled out, the management API on DefaultMgmtAddr and
// the Prometheus metrics on DefaultPrometheusAddr.
func DefaultConfig() Config {
	return Config{
		Addr:             DefaultAddr,
		MgmtAddr:         DefaultMgmtAddr,
		PrometheusAddr:   DefaultPrometheusAddr,
		Heartbeat:        DefaultHeartbeat,
		FrameMax:         DefaultFrameMax,
		ChannelMax:       DefaultChannelMax,
		HandshakeTimeout: DefaultHandshakeTimeout,
		HeartbeatUnit:    time.Second,
		MaxMessageSize:   DefaultMaxMessageSize,
		Users:            []User{{Name: "guest", Password: "guest"}},
		LoopbackUsers:    []string{"guest"},
		VHosts:           []string{"/"},
		AuthMechanisms:   []string{"PLAIN", "AMQPLAIN"},
	}
}

// Validate reports every field that is out of range, joined into one error.
func (c *Config) Validate() error {
	var errs []error
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("Addr %q: %v", c.Addr, err))
		}
	}
	if c.MgmtAddr != "" {
		if _, _, err := net.SplitHostPort(c.MgmtAddr); err != nil {
			errs = append(errs, fmt.Errorf("MgmtAddr %q: %v", c.MgmtAddr, err))
		}
	}
	if c.TLSAddr != "" {
		if _, _, err := net.SplitHostPort(c.TLSAddr); err != nil {
			errs = append(errs, fmt.Errorf("TLSAddr %q: %v", c.TLSAddr, err))
		}
		if c.TLS == nil {
			errs = append(errs, fmt.Errorf("TLSAddr %q: needs TLS (a certificate and its key)", c.TLSAddr))
		}
	}
	if c.TLS != nil && c.TLS.MinVersion != 0 && c.TLS.MinVersion < tls.VersionTLS12 {
		errs = append(errs, errors.New("TLS: MinVersion must be TLS 1.2 or later"))
	}
	switch c.SSLCertLoginFrom {
	case "", "common_name", "distinguished_name":
	default:
		errs = append(errs, fmt.Errorf("SSLCertLoginFrom %q: want common_name or distinguished_name", c.SSLCertLoginFrom))
	}
	mechs := map[string]bool{}
	for _, m := range c.AuthMechanisms {
		switch {
		case !engine.KnownAuthMechanism(m):
			errs = append(errs, fmt.Errorf("AuthMechanisms: unknown mechanism %q (want PLAIN, AMQPLAIN or EXTERNAL)", m))
		case mechs[m]:
			errs = append(errs, fmt.Errorf("AuthMechanisms: %q listed twice", m))
		}
		mechs[m] = true
	}
	if c.PrometheusAddr != "" {
		if _, _, err := net.SplitHostPort(c.PrometheusAddr); err != nil {
			errs = append(errs, fmt.Errorf("PrometheusAddr %q: %v", c.PrometheusAddr, err))
		}
	}
	if c.Heartbeat > 65535 {
		errs = append(errs, fmt.Errorf("Heartbeat %d: must be at most 65535 seconds (a short on the wire)", c.Heartbeat))
	}
	if c.FrameMax > 0 && c.FrameMax < 4096 {
		errs = append(errs, fmt.Errorf("FrameMax %d: must be at least 4096 (frame-min-size)", c.FrameMax))
	}
	if int64(c.FrameMax) > 1<<32-1 {
		errs = append(errs, fmt.Errorf("FrameMax %d: must fit in 32 bits", c.FrameMax))
	}
	if c.ChannelMax > 65535 {
		errs = append(errs, fmt.Errorf("ChannelMax %d: must be at most 65535", c.ChannelMax))
	}
	if math.IsNaN(c.HeartbeatWarn) || c.HeartbeatWarn >= 3 {
		errs = append(errs, fmt.Errorf("HeartbeatWarn %v: must be below 3 (in units of T; None: no warning)", c.HeartbeatWarn))
	}
	if c.HeartbeatUnit < 0 {
		errs = append(errs, fmt.Errorf("HeartbeatUnit %v: must not be negative", c.HeartbeatUnit))
	}
	seen := map[string]bool{}
	for _, u := range c.Users {
		if u.Name == "" {
			errs = append(errs, errors.New("Users: empty user name"))
		}
		if seen[u.Name] {
			errs = append(errs, fmt.Errorf("Users: %q listed twice", u.Name))
		}
		if u.Password == "" {
			if err := password.Validate(u.PasswordHash); err != nil {
				errs = append(errs, fmt.Errorf("Users: %q: %v", u.Name, err))
			}
		}
		seen[u.Name] = true
	}
	if c.Sync != SyncData && c.Sync != SyncWrite {
		errs = append(errs, fmt.Errorf("Sync %d: want SyncData or SyncWrite", c.Sync))
	}
	for _, v := range c.VHosts {
		if v == "" {
			errs = append(errs, errors.New("VHosts: empty virtual host name"))
		}
	}
	return errors.Join(errs...)
}

// settings is a Config with every default applied, in wire units: what
// connections read (conn) and what the Server itself uses.
type settings struct {
	conn        engine.Settings
	heartbeat   uint16
	frameMax    uint32
	channelMax  uint16
	vhosts      map[string]bool
	tls         *tls.Config // Config.TLS with TLS 1.2 at least, or nil
	clusterName string
	product     string
	log         *slog.Logger
}

func (c *Config) settings() settings {
	s := settings{
		heartbeat:   uint16(resolve(c.Heartbeat, DefaultHeartbeat)),
		frameMax:    uint32(resolve(c.FrameMax, DefaultFrameMax)),
		channelMax:  uint16(resolve(c.ChannelMax, DefaultChannelMax)),
		vhosts:      map[string]bool{},
		clusterName: c.ClusterName,
		product:     c.Product,
		log:         c.Logger,
		conn: engine.Settings{
			HandshakeTimeout: resolve(c.HandshakeTimeout, DefaultHandshakeTimeout),
			Unit:             cmp.Or(c.HeartbeatUnit, time.Second),
			MaxMessageSize:   resolve(c.MaxMessageSize, DefaultMaxMessageSize),
			Loopback:         map[string]bool{},
			AuthMechanisms:   slices.Clone(c.AuthMechanisms),
		},
	}
	if c.LoopbackUsers == nil {
		s.conn.Loopback["guest"] = true
	}
	for _, u := range c.LoopbackUsers {
		s.conn.Loopback[u] = true
	}
	if c.VHosts == nil {
		s.vhosts["/"] = true
	}
	for _, v := range c.VHosts {
		s.vhosts[v] = true
	}
	if s.product == "" {
		s.product = Product
	}
	if s.clusterName == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		s.clusterName = "beatmq@" + host
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.conn.Heartbeat, s.conn.FrameMax, s.conn.ChannelMax = s.heartbeat, s.frameMax, s.channelMax
	s.conn.ServerProperties = engine.ServerProperties(s.clusterName, s.product)
	s.conn.Log = s.log
	s.conn.HeartbeatWarn = resolve(c.HeartbeatWarn, DefaultHeartbeatWarn)
	if c.TLS != nil {
		s.tls = c.TLS.Clone()
		s.tls.MinVersion = max(s.tls.MinVersion, tls.VersionTLS12)
		s.conn.TLSVerifyPeer = s.tls.ClientAuth >= tls.VerifyClientCertIfGiven
	}
	if c.SSLCertLoginFrom == "distinguished_name" {
		s.conn.CertLoginFrom = engine.CertLoginDistinguishedName
	}
	return s
}
