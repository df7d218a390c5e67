package engine

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"time"

	"github.com/beatmq/beatmq/heartbeat"
)

// TLS connections: the socket's octets are counted below TLS (cc wraps the
// TCP connection, TLS runs over cc), as RabbitMQ's rabbit_net:getstat/2
// reads recv_oct and send_oct from an ssl socket's underlying TCP port. So
// heartbeat detection sees TLS records, handshake and alerts included,
// exactly as it sees a plain connection's frames.

// fastClose closes the socket as rabbit_net:fast_close/1 does, whatever
// ended the connection. A plain socket is closed abortively: SO_LINGER 0,
// so the peer gets a RST (rabbit's tcp_listen_options have {linger, {true,
// 0}}). A TLS connection first gets the close_notify alert, as fast_close
// calls ssl:close before closing the TCP port, which the TLS protocol asks
// for (RFC 8446 §6.1): clients then read a clean end of stream, as from
// RabbitMQ. Any goroutine.
func (c *Conn) fastClose() {
	tw, ok := c.rw.(*tlsWriter)
	if !ok {
		_ = c.cc.Reset()
		return
	}
	if l, ok := c.nc.(interface{ SetLinger(sec int) error }); ok {
		_ = l.SetLinger(0) // as on a plain socket, once the alert is out
	}
	tw.closeNotify(sslCloseTimeout)
}

// sslCloseTimeout bounds the wait for the alert: RabbitMQ gives ssl:close
// SSL_CLOSE_TIMEOUT, 5 s, before it closes the port anyway.
const sslCloseTimeout = 5 * time.Second

// tlsWriter serialises the connection's writes (the frame writer's and
// heartbeats') with its close, so the close_notify alert is never skipped
// because a write happened to be in flight: tls.Conn.Close sends no alert
// then. In RabbitMQ the ssl connection process serialises them alike.
type tlsWriter struct {
	*tls.Conn
	turn chan struct{} // holds one token while a write or the close runs
}

func newTLSWriter(tc *tls.Conn) *tlsWriter {
	return &tlsWriter{Conn: tc, turn: make(chan struct{}, 1)}
}

// Write writes p once no other write or the close is running.
func (w *tlsWriter) Write(p []byte) (int, error) {
	w.turn <- struct{}{}
	defer func() { <-w.turn }()
	return w.Conn.Write(p)
}

// closeNotify waits up to timeout for a running write to finish (a write
// blocked on a full socket does not), then closes with the alert, whose own
// write tls.Conn bounds at 5 s; past the timeout it closes the socket
// without one.
func (w *tlsWriter) closeNotify(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case w.turn <- struct{}{}:
		_ = w.Conn.Close()
		<-w.turn
	case <-t.C:
		_ = w.Conn.NetConn().Close()
	}
}

// CertLoginFrom says which part of a client certificate names the user who
// logs in with EXTERNAL (RabbitMQ's ssl_cert_login_from).
type CertLoginFrom int

const (
	// CertLoginCommonName takes the subject's CN, several joined with ","
	// (RabbitMQ's common_name, its default).
	CertLoginCommonName CertLoginFrom = iota
	// CertLoginDistinguishedName takes the whole subject, "CN=x,O=y", as
	// RabbitMQ writes it (RabbitMQ's distinguished_name; cert_subject.go).
	CertLoginDistinguishedName
)

// NewTLS returns the connection whose TLS handshake has completed on tc,
// which runs over the counted socket cc; it is not yet served.
func NewTLS(h Host, set *Settings, cc *heartbeat.CountingConn, tc *tls.Conn) *Conn {
	c := newConnOn(h, set, cc, newTLSWriter(tc))
	st := tc.ConnectionState()
	c.tls = &st
	c.ctl.info.TLS = TLSInfo{Version: tls.VersionName(st.Version), CipherSuite: tls.CipherSuiteName(st.CipherSuite)}
	if len(st.PeerCertificates) > 0 {
		c.ctl.info.TLS.PeerSubject = certSubject(st.PeerCertificates[0])
	}
	return c
}

// TLSInfo describes a TLS connection; Version is "" on a plain one.
type TLSInfo struct {
	Version     string // "TLS 1.3"
	CipherSuite string // "TLS_AES_128_GCM_SHA256"
	PeerSubject string // the client certificate's subject, "" without one
}

// authenticateExternal is rabbit_auth_mechanism_ssl:init/1 and
// handle_response/2: the user is named by the peer certificate, must exist,
// and gives no password; the loopback rule still applies
// (rabbit_reader:auth_phase/2).
func (c *Conn) authenticateExternal() authResult {
	if c.tls == nil {
		return authResult{refused: true, msg: "not a TLS-enabled connection"}
	}
	if len(c.tls.PeerCertificates) == 0 {
		return authResult{refused: true, msg: "connection peer presented no TLS (x.509) certificate"}
	}
	if !c.set.TLSVerifyPeer {
		// rabbit_ssl:auth_config_sane/0
		c.log.Warn("TLS peer verification (authentication) is disabled, ssl_options.verify value used: verify_none. See https://www.rabbitmq.com/ssl.html#peer-verification to learn more.")
		return authResult{refused: true, msg: "TLS configuration is unsafe"}
	}
	user, ok := certUser(c.tls.PeerCertificates[0], c.set.CertLoginFrom)
	if !ok {
		return authResult{refused: true, msg: "no name found"}
	}
	c.log.Debug("auth mechanism TLS extracted username '" + user + "' from peer certificate")
	if !c.host.UserExists(user) {
		return authResult{user: user, refused: true, msg: "user '" + user + "' - invalid credentials"}
	}
	if c.set.Loopback[user] && !isLoopback(c.nc.RemoteAddr()) {
		return authResult{user: user, refused: true, msg: "user '" + user + "' can only connect via localhost"}
	}
	return authResult{user: user}
}

// certUser is rabbit_ssl:peer_cert_auth_name/2 for common_name and
// distinguished_name.
func certUser(cert *x509.Certificate, from CertLoginFrom) (string, bool) {
	if from == CertLoginDistinguishedName {
		return certSubject(cert), true
	}
	var cns []string
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			if s, ok := atv.Value.(string); ok {
				cns = append(cns, s)
			}
		}
	}
	if len(cns) == 0 {
		return "", false
	}
	return strings.Join(cns, ","), true
}

// oidCommonName is id-at-commonName (2.5.4.3).
var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}
