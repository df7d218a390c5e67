package broker

import (
	"github.com/beatmq/beatmq/broker/internal/engine"

	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// RabbitMQ 3.10.8's defaults (deps/rabbit/Makefile app env; rabbit_reader.erl).
const (
	DefaultAddr             = "127.0.0.1:5672"
	DefaultMgmtAddr         = "127.0.0.1:15672"
	DefaultHeartbeat        = 60     // seconds, proposed in connection.tune
	DefaultFrameMax         = 131072 // octets, proposed in connection.tune
	DefaultChannelMax       = 2047   // proposed in connection.tune (rabbitmq-server#1593)
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxMessageSize   = 128 << 20 // max_message_size, 134217728
)

// User is an account that may log in with PLAIN or AMQPLAIN.
type User struct {
	Name     string
	Password string
}

// Config holds everything a Server needs. The zero value of every field means
// RabbitMQ 3.10.8's default, so Config{} is a working configuration; where
// AMQP itself gives 0 a meaning ("no heartbeat", "no limit"), a negative value
// asks for that 0.
type Config struct {
	// Addr is the address ListenAndServe listens on. "" means DefaultAddr.
	Addr string

	// MgmtAddr is the address of the HTTP management API. "" disables it.
	// Config{} leaves it disabled; DefaultConfig sets DefaultMgmtAddr.
	MgmtAddr string

	// Heartbeat is the heartbeat timeout, in seconds, proposed in
	// connection.tune. 0 means DefaultHeartbeat (60); a negative value proposes 0.
	// Whatever the client answers in tune-ok (0..65535) is used, as RabbitMQ does.
	Heartbeat int

	// FrameMax is the largest frame, in octets, proposed in connection.tune
	// and enforced after tune-ok. 0 means DefaultFrameMax; a negative value
	// proposes 0 (no limit). A positive value must be at least 4096.
	FrameMax int

	// ChannelMax is the highest channel count proposed in connection.tune. 0
	// means DefaultChannelMax; a negative value proposes 0 (no limit).
	ChannelMax int

	// HandshakeTimeout bounds the time from accept until connection.open has
	// been answered. 0 means DefaultHandshakeTimeout; negative means none.
	HandshakeTimeout time.Duration

	// HeartbeatUnit is the real length of one second of AMQP protocol time: the
	// negotiated heartbeat timeout T, the closing timeout (T, or 30 when T is 0
	// or ≥ 30) and the 3-second silent-close delay are multiplied by it.
	// 0 means time.Second. Tests shorten it (T = 1 on the wire then lasts, say,
	// 100 ms); a broker that real clients use must keep the default.
	HeartbeatUnit time.Duration

	// MaxMessageSize bounds a published message body. 0 means
	// DefaultMaxMessageSize; negative means no limit beyond memory.
	MaxMessageSize int64

	// Users may log in. nil means one user, guest with password guest.
	Users []User

	// LoopbackUsers may only connect from a loopback address. nil means
	// ["guest"]; an empty non-nil slice means nobody is restricted.
	LoopbackUsers []string

	// VHosts lists the virtual hosts connection.open accepts. nil means ["/"].
	VHosts []string

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
}

// DefaultConfig returns the configuration of a stand-alone broker: every
// RabbitMQ default spelled out, and the management API on DefaultMgmtAddr.
func DefaultConfig() Config {
	return Config{
		Addr:             DefaultAddr,
		MgmtAddr:         DefaultMgmtAddr,
		Heartbeat:        DefaultHeartbeat,
		FrameMax:         DefaultFrameMax,
		ChannelMax:       DefaultChannelMax,
		HandshakeTimeout: DefaultHandshakeTimeout,
		HeartbeatUnit:    time.Second,
		MaxMessageSize:   DefaultMaxMessageSize,
		Users:            []User{{Name: "guest", Password: "guest"}},
		LoopbackUsers:    []string{"guest"},
		VHosts:           []string{"/"},
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
		seen[u.Name] = true
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
	clusterName string
	product     string
	log         *slog.Logger
}

func (c *Config) settings() settings {
	s := settings{
		heartbeat:   DefaultHeartbeat,
		frameMax:    DefaultFrameMax,
		channelMax:  DefaultChannelMax,
		vhosts:      map[string]bool{},
		clusterName: c.ClusterName,
		product:     c.Product,
		log:         c.Logger,
		conn: engine.Settings{
			HandshakeTimeout: DefaultHandshakeTimeout,
			Unit:             time.Second,
			MaxMessageSize:   DefaultMaxMessageSize,
			Users:            map[string]string{},
			Loopback:         map[string]bool{},
		},
	}
	switch {
	case c.Heartbeat > 0:
		s.heartbeat = uint16(c.Heartbeat)
	case c.Heartbeat < 0:
		s.heartbeat = 0
	}
	switch {
	case c.FrameMax > 0:
		s.frameMax = uint32(c.FrameMax)
	case c.FrameMax < 0:
		s.frameMax = 0
	}
	switch {
	case c.ChannelMax > 0:
		s.channelMax = uint16(c.ChannelMax)
	case c.ChannelMax < 0:
		s.channelMax = 0
	}
	switch {
	case c.HandshakeTimeout > 0:
		s.conn.HandshakeTimeout = c.HandshakeTimeout
	case c.HandshakeTimeout < 0:
		s.conn.HandshakeTimeout = 0
	}
	if c.HeartbeatUnit > 0 {
		s.conn.Unit = c.HeartbeatUnit
	}
	switch {
	case c.MaxMessageSize > 0:
		s.conn.MaxMessageSize = c.MaxMessageSize
	case c.MaxMessageSize < 0:
		s.conn.MaxMessageSize = 0
	}
	if c.Users == nil {
		s.conn.Users["guest"] = "guest"
	}
	for _, u := range c.Users {
		s.conn.Users[u.Name] = u.Password
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
	return s
}
