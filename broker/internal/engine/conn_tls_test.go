package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// selfSigned is a throwaway server certificate for "localhost".
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// teeConn records what is read through it.
type teeConn struct {
	net.Conn
	got []byte
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.got = append(c.got, p[:n]...)
	return n, err
}

// lastRecordIsAlert tells whether the last TLS record in b is an alert: in
// TLS 1.3 an application-data record of 2 + 1 + 16 octets (Go's clients
// read a stream cut at a record boundary as a clean end, so only the
// records show whether close_notify came).
func lastRecordIsAlert(b []byte) bool {
	var last []byte
	for len(b) >= 5 {
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			return false
		}
		last, b = b[:5+n], b[5+n:]
	}
	return last != nil && (last[0] == 21 || last[0] == 23 && len(last) == 5+19)
}

// armedConn reports, once armed, the next write that reaches the socket:
// with net.Pipe that write then waits for the reader, so it is in flight.
type armedConn struct {
	net.Conn
	armed   atomic.Bool
	writing chan struct{}
}

func (c *armedConn) Write(p []byte) (int, error) {
	if c.armed.CompareAndSwap(true, false) {
		close(c.writing)
	}
	return c.Conn.Write(p)
}

// tlsPair is a server and client TLS 1.3 connection over net.Pipe (no
// buffer: a write waits for the reader), the client's raw octets recorded;
// arm the returned armedConn to learn when the server's next write is on
// the socket.
func tlsPair(t *testing.T) (*tls.Conn, *tls.Conn, *teeConn, *armedConn) {
	t.Helper()
	pipeSrv, cliRaw := net.Pipe()
	srvRaw := &armedConn{Conn: pipeSrv, writing: make(chan struct{})}
	tee := &teeConn{Conn: cliRaw}
	srv := tls.Server(srvRaw, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	cli := tls.Client(tee, &tls.Config{InsecureSkipVerify: true})
	hs := make(chan error, 1)
	go func() { hs <- cli.Handshake() }()
	if err := srv.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-hs; err != nil {
		t.Fatal(err)
	}
	srvRaw.armed.Store(true)
	return srv, cli, tee, srvRaw
}

// A close that comes while a write is in flight still sends close_notify
// once the write is done, as RabbitMQ's ssl connection process would:
// tls.Conn.Close alone skips the alert then (checked below, so the reason
// for tlsWriter stays pinned). A write that stays blocked past the timeout
// gets the socket closed without it.
func TestTLSWriterCloseNotify(t *testing.T) {
	payload := make([]byte, 256<<10)
	for _, tc := range []struct {
		name      string
		serialise bool
		wantAlert bool
	}{
		{"tlsWriter", true, true},
		{"tls.Conn alone", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, cli, tee, raw := tlsPair(t)
			w := newTLSWriter(srv)
			write, closeIt := w.Write, func() { w.closeNotify(5 * time.Second) }
			if !tc.serialise {
				write, closeIt = srv.Write, func() { _ = srv.Close() }
			}
			wrote := make(chan error, 1)
			go func() { _, err := write(payload); wrote <- err }()
			<-raw.writing // the write is in flight, waiting for the reader
			closed := make(chan struct{})
			if tc.serialise {
				// closeNotify waits for the write, which waits for the reader.
				go func() { closeIt(); close(closed) }()
			} else {
				closeIt() // returns at once: it cuts the write in flight
				close(closed)
			}
			n, _ := io.Copy(io.Discard, cli)
			<-closed
			werr := <-wrote
			if got := lastRecordIsAlert(tee.got); got != tc.wantAlert {
				t.Fatalf("close_notify sent: %v, want %v (read %d octets, write error %v)", got, tc.wantAlert, n, werr)
			}
			if tc.serialise && (werr != nil || n != int64(len(payload))) {
				t.Fatalf("read %d of %d octets, write error %v: the write in flight must finish first", n, len(payload), werr)
			}
			_ = cli.Close()
		})
	}
	t.Run("write blocked past the timeout", func(t *testing.T) {
		srv, cli, _, raw := tlsPair(t)
		w := newTLSWriter(srv)
		wrote := make(chan error, 1)
		go func() { _, err := w.Write(payload); wrote <- err }()
		<-raw.writing
		began := time.Now()
		w.closeNotify(100 * time.Millisecond) // nobody reads: the write never finishes
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("closeNotify took %v with a 100 ms timeout", d)
		}
		if err := <-wrote; err == nil {
			t.Fatal("the blocked write succeeded after the socket was closed")
		}
		_ = cli.Close()
	})
}
