package brokertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/beatmq/beatmq/broker"
)

// CA is a certificate authority made for a test: it issues the broker's
// certificate and clients' certificates, all valid for a day.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

// NewCA makes a CA with a fresh P-256 key.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "beatmq test CA", Organization: []string{"beatmq"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{cert: cert, key: key, pool: x509.NewCertPool(), pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	ca.pool.AddCert(cert)
	return ca, nil
}

// Pool returns a pool holding only the CA: a client's RootCAs, or a
// server's ClientCAs.
func (ca *CA) Pool() *x509.CertPool { return ca.pool }

// PEM returns the CA certificate, PEM-encoded (a cacertfile).
func (ca *CA) PEM() []byte { return ca.pem }

// Server issues a server certificate for 127.0.0.1, ::1 and localhost.
func (ca *CA) Server() (tls.Certificate, error) {
	return ca.issue(pkix.Name{CommonName: "localhost"}, x509.ExtKeyUsageServerAuth)
}

// Client issues a client certificate whose subject is subj: its CN is the
// user name of an EXTERNAL login (RabbitMQ's ssl_cert_login_from
// common_name).
func (ca *CA) Client(subj pkix.Name) (tls.Certificate, error) {
	return ca.issue(subj, x509.ExtKeyUsageClientAuth)
}

func (ca *CA) issue(subj pkix.Name, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      subj,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// WriteFiles writes c to dir as name.pem and its key as name-key.pem (and
// the CA as ca.pem), for clients and brokers that read files; it returns
// the certificate's and the key's paths.
func (ca *CA) WriteFiles(dir, name string, c tls.Certificate) (certFile, keyFile string, err error) {
	key, ok := c.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return "", "", errors.New("brokertest: WriteFiles needs a certificate issued by this CA")
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	files := map[string][]byte{
		certFile:                     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		keyFile:                      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		filepath.Join(dir, "ca.pem"): ca.pem,
	}
	for f, b := range files {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			return "", "", err
		}
	}
	return certFile, keyFile, nil
}

// WithTLS adds an amqps listener (TLSAddr, TLSURL) with a certificate
// issued by a CA made for the broker (TLSCA), TLS 1.2 or later, verifying
// client certificates when given (RabbitMQ's verify_peer without
// fail_if_no_peer_cert). It offers what Config.AuthMechanisms lists, PLAIN
// and AMQPLAIN by default: for EXTERNAL logins add
// WithAuthMechanisms("PLAIN", "AMQPLAIN", "EXTERNAL"). ClientTLS gives a
// client what it needs. To set the TLS configuration yourself, put it in
// Config.TLS with WithConfig instead.
func WithTLS() Option {
	return func(o *options) {
		ca, err := NewCA()
		if err == nil {
			var cert tls.Certificate
			if cert, err = ca.Server(); err == nil {
				o.cfg.TLS = &tls.Config{
					Certificates: []tls.Certificate{cert},
					ClientCAs:    ca.Pool(),
					ClientAuth:   tls.VerifyClientCertIfGiven, // WithTLSVerify changes it at Start
					MinVersion:   tls.VersionTLS12,
				}
			}
		}
		o.ca, o.tlsErr = ca, err
	}
}

// WithAuthMechanisms sets the SASL mechanisms connection.start offers, in
// this order (Config.AuthMechanisms, RabbitMQ's auth_mechanisms): "PLAIN",
// "AMQPLAIN", "EXTERNAL". EXTERNAL is offered on TLS connections only
// (WithTLS).
func WithAuthMechanisms(mechanisms ...string) Option {
	return func(o *options) { o.cfg.AuthMechanisms = mechanisms }
}

// WithTLSVerify sets WithTLS's client verification as RabbitMQ's
// ssl_options verify ("verify_none": no client certificate is asked for;
// "verify_peer", WithTLS's default) and fail_if_no_peer_cert name it.
func WithTLSVerify(verify string, failIfNoPeerCert bool) Option {
	return func(o *options) {
		switch {
		case verify == "verify_none":
			o.tlsAuth = tls.NoClientCert
		case failIfNoPeerCert:
			o.tlsAuth = tls.RequireAndVerifyClientCert
		default:
			o.tlsAuth = tls.VerifyClientCertIfGiven
		}
	}
}

// TLSCA returns the CA of a broker started WithTLS, else nil.
func (b *Broker) TLSCA() *CA { return b.o.ca }

// TLSAddr returns the amqps listener's address, "" without one.
func (b *Broker) TLSAddr() string { return b.tlsAddr }

// TLSURL is the amqps URL of guest on the TLS listener.
func (b *Broker) TLSURL() string { return "amqps://guest:guest@" + b.tlsAddr + "/" }

// ClientTLS returns a client's TLS configuration for a broker started
// WithTLS: the broker's CA as the only root, and a client certificate for
// user (its CN) unless user is "".
func (b *Broker) ClientTLS(user string) (*tls.Config, error) {
	if b.o.ca == nil {
		return nil, errors.New("brokertest: ClientTLS needs WithTLS")
	}
	c := &tls.Config{RootCAs: b.o.ca.Pool(), MinVersion: tls.VersionTLS12}
	if user != "" {
		cert, err := b.o.ca.Client(pkix.Name{CommonName: user, Organization: []string{"beatmq"}})
		if err != nil {
			return nil, fmt.Errorf("brokertest: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// serveTLS starts the amqps listener of a broker whose Config has TLS.
func (b *Broker) serveTLS(srv *broker.Server, addr string) error {
	l, err := listen(addr)
	if err != nil {
		return err
	}
	b.tlsAddr = l.Addr().String()
	b.tlsDone = make(chan error, 1)
	go func() { b.tlsDone <- srv.ServeTLS(l) }()
	for len(srv.AMQPListeners()) < 2 {
		select {
		case err := <-b.tlsDone:
			b.tlsDone = nil
			return err
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
