package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/heartbeat"
)

// TLSHandshakeTimeout bounds a TLS handshake, from accept until the
// client's Finished: RabbitMQ's ssl_handshake_timeout default (5000 ms,
// rabbit_networking). Config.HandshakeTimeout starts once it is over, as
// RabbitMQ's handshake_timeout does in rabbit_reader.
const TLSHandshakeTimeout = 5 * time.Second

// listenerKind is what a listener serves, as RabbitMQ's listener protocols
// name it: "amqp" or "amqp/ssl".
type listenerKind string

const (
	listenerTCP listenerKind = "amqp"
	listenerTLS listenerKind = "amqp/ssl"
)

// label is the listener's name in "started ... on" log lines
// (rabbit_networking:start_tcp_listener/2, start_ssl_listener/3).
func (k listenerKind) label() string {
	if k == listenerTLS {
		return "TLS (SSL) listener"
	}
	return "TCP listener"
}

// Listener is one address the server accepts AMQP connections on.
type Listener struct {
	Addr net.Addr
	// Protocol is "amqp", or "amqp/ssl" for a TLS listener, as RabbitMQ's
	// /api/overview lists them.
	Protocol string
}

// AMQPListeners returns every listener Serve and ServeTLS are accepting on,
// with its protocol.
func (s *Server) AMQPListeners() []Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Listener, 0, len(s.listeners))
	for l, k := range s.listeners {
		out = append(out, Listener{Addr: l.Addr(), Protocol: string(k)})
	}
	return out
}

// ServeTLS accepts connections on l as Serve does, each one an AMQP
// connection inside TLS ("amqps") configured by Config.TLS (TLSConfig
// builds one from RabbitMQ's ssl_options). Octets are counted on the TCP
// socket, below TLS, as RabbitMQ counts them, so heartbeats are detected as
// over TCP. A handshake that fails or takes longer than TLSHandshakeTimeout
// is logged and its socket closed; the client never reaches AMQP.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.set.tls == nil {
		_ = l.Close()
		return errors.New("beatmq: ServeTLS needs Config.TLS")
	}
	return s.serve(l, s.set.tls)
}

// serveTLSConn runs the TLS handshake on an accepted socket, then serves
// the AMQP connection inside it. Its goroutine is counted in s.running.
func (s *Server) serveTLSConn(nc net.Conn, tc *tls.Config) {
	defer s.running.Done()
	cc := heartbeat.NewCountingConn(nc)
	tlsConn := tls.Server(cc, tc)
	ctx, cancel := context.WithTimeout(s.stopCtx, TLSHandshakeTimeout)
	err := tlsConn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = cc.Reset()
		if s.stopCtx.Err() == nil {
			peer, local := addrOf(nc.RemoteAddr()), addrOf(nc.LocalAddr())
			level := slog.LevelError
			if cc.Received() == 0 && errors.Is(err, io.EOF) {
				// A port probe (health check, load balancer): nothing to report.
				level = slog.LevelDebug
			}
			s.set.log.Log(context.Background(), level, fmt.Sprintf("TLS server: handshake with %s failed: %v", peer, err),
				logfmt.KeyPeer, peer, logfmt.KeyLocal, local)
		}
		return
	}
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		_ = cc.Reset()
		return
	}
	c := engine.NewTLS(host{s}, &s.set.conn, cc, tlsConn)
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.Serve()
}

func addrOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
