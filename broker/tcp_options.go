package broker

import (
	"context"
	"net"
)

// Listen opens a TCP listener on addr the way RabbitMQ's listeners are
// opened: Go's own keepalive default (on, probes after 15 s idle) is not
// applied to accepted connections, so that Serve sets SO_KEEPALIVE only as
// Config.TCPKeepAlive says, with the operating system's periods, as
// Erlang's {keepalive, true} does. ListenAndServe and the beatmq command use
// it; a listener from net.Listen works too, but connections accepted from it
// keep Go's 15 s periods when TCPKeepAlive is on.
func Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", addr)
}

// applyTCPOptions sets the options of RabbitMQ's tcp_listen_options that
// beatmq honours on an accepted connection: keepalive (RabbitMQ's default
// false; Go's is true) and nodelay (true in both). Errors are ignored: the
// options tune a connection that works without them. Serve applies them to
// what it accepts; a connection given to ServeConn keeps what its caller
// set, and one that is not TCP is left alone.
func (s *Server) applyTCPOptions(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	if s.cfg.TCPKeepAlive {
		// Leave the periods as they are: the system's (net.ipv4.tcp_keepalive_*)
		// on a listener from Listen.
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1})
	} else {
		_ = tc.SetKeepAlive(false)
	}
	_ = tc.SetNoDelay(!s.cfg.DisableTCPNoDelay)
}
