package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSOptions are RabbitMQ's ssl_options that beatmq honours, by their
// RabbitMQ names.
type TLSOptions struct {
	CertFile string // certfile: the server's certificate chain, PEM
	KeyFile  string // keyfile: its private key, PEM
	CAFile   string // cacertfile: the CAs client certificates must chain to, PEM
	// Verify is "verify_none" ("" too, RabbitMQ's default: no client
	// certificate is asked for) or "verify_peer" (one is asked for and, if
	// given, verified against CAFile).
	Verify string
	// FailIfNoPeerCert, with verify_peer, refuses a client that presents no
	// certificate (the handshake fails).
	FailIfNoPeerCert bool
}

// TLSConfig builds Config.TLS from o: TLS 1.2 or later, the server
// certificate, and client verification as ssl_options' verify and
// fail_if_no_peer_cert ask.
func TLSConfig(o TLSOptions) (*tls.Config, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("TLS needs a certificate file and a key file")
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s, key %s: %w", o.CertFile, o.KeyFile, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA file %s: no PEM certificate in it", o.CAFile)
		}
		c.ClientCAs = pool
	}
	switch o.Verify {
	case "", "verify_none":
		if o.FailIfNoPeerCert {
			return nil, errors.New("TLS: fail_if_no_peer_cert needs verify_peer")
		}
	case "verify_peer":
		if c.ClientCAs == nil {
			return nil, errors.New("TLS: verify_peer needs a CA file to verify client certificates against")
		}
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if o.FailIfNoPeerCert {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	default:
		return nil, fmt.Errorf("TLS verify %q: want verify_none or verify_peer", o.Verify)
	}
	return c, nil
}
