package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/beatmq/beatmq/broker"
)

// tlsOptions are the amqps listener's flags, named after RabbitMQ's
// listeners.ssl and ssl_options keys.
type tlsOptions struct {
	addr             string
	cert, key, ca    string
	verify           string
	failIfNoPeerCert bool
	certLoginFrom    string
}

func (t *tlsOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&t.addr, "tls-addr", "", "amqps (AMQP over TLS) listen address, e.g. 127.0.0.1:5671; empty: no TLS listener (RabbitMQ's listeners.ssl)")
	fs.StringVar(&t.cert, "tls-cert", "", "the server's certificate chain, PEM (ssl_options.certfile)")
	fs.StringVar(&t.key, "tls-key", "", "the server certificate's private key, PEM (ssl_options.keyfile)")
	fs.StringVar(&t.ca, "tls-ca", "", "CA certificates that client certificates must chain to, PEM (ssl_options.cacertfile)")
	fs.StringVar(&t.verify, "tls-verify", "verify_none", "verify_none (no client certificate asked for) or verify_peer (ssl_options.verify)")
	fs.BoolVar(&t.failIfNoPeerCert, "tls-fail-if-no-peer-cert", false, "with verify_peer, refuse clients without a certificate (ssl_options.fail_if_no_peer_cert)")
	fs.StringVar(&t.certLoginFrom, "ssl-cert-login-from", "common_name", "what names the user of an EXTERNAL login: common_name or distinguished_name (ssl_cert_login_from)")
}

// apply sets cfg's TLS fields from the flags.
func (t *tlsOptions) apply(cfg *broker.Config) error {
	cfg.SSLCertLoginFrom = t.certLoginFrom
	if t.addr == "" {
		return nil
	}
	tc, err := broker.TLSConfig(broker.TLSOptions{
		CertFile: t.cert, KeyFile: t.key, CAFile: t.ca,
		Verify: t.verify, FailIfNoPeerCert: t.failIfNoPeerCert,
	})
	if err != nil {
		return fmt.Errorf("--tls-addr %s: %v", t.addr, err)
	}
	cfg.TLSAddr, cfg.TLS = t.addr, tc
	return nil
}
