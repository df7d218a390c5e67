package broker_test

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// Clients on the wrong port, with TLS older than 1.2, or without the
// certificate the listener requires, get a clear error; the broker logs it
// and keeps nothing (goleak checks the goroutines at the end of the package).
func TestTLSWrongClients(t *testing.T) {
	b := start(t, unit, brokertest.WithTLS(), brokertest.WithTLSVerify("verify_peer", true))

	t.Run("plain AMQP to the TLS port", func(t *testing.T) {
		r := brokertest.DialRaw(t, b.TLSAddr())
		r.SendProtocolHeader()
		got, err := r.ReadRaw(64, 5*time.Second)
		if err == nil || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			t.Fatalf("read %q, %v: want the socket closed", got, err)
		}
		want := "TLS server: handshake with " + r.Conn.LocalAddr().String() + " failed: tls: first record does not look like a TLS handshake"
		if _, ok := b.Logs().WaitFor(want, time.Second); !ok {
			t.Fatalf("no %q in:\n%s", want, b.Logs())
		}
	})

	t.Run("TLS to the plain port", func(t *testing.T) {
		tc, _ := b.ClientTLS("guest")
		c, err := tls.Dial("tcp", b.Addr(), tc)
		if err == nil {
			c.Close()
			t.Fatal("TLS handshake with the plain port succeeded")
		}
		if !strings.Contains(err.Error(), "first record does not look like a TLS handshake") {
			t.Fatalf("dial: %v", err)
		}
		// The broker saw a ClientHello where the protocol header goes and
		// answered it as RabbitMQ does: AMQP 0-9-1's header, then close.
		if _, ok := b.Logs().WaitFor("{bad_header,<<22,3,1", time.Second); !ok {
			t.Fatalf("no bad_header line in:\n%s", b.Logs())
		}
	})

	t.Run("no client certificate with fail_if_no_peer_cert", func(t *testing.T) {
		tc, _ := b.ClientTLS("")
		c, err := tls.Dial("tcp", b.TLSAddr(), tc)
		if err == nil {
			// TLS 1.3: the server's refusal arrives after the client's Finished.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1))
			c.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("got %v, want the server's certificate required alert", err)
		}
		if _, ok := b.Logs().WaitFor("client didn't provide a certificate", time.Second); !ok {
			t.Fatalf("no handshake failure logged:\n%s", b.Logs())
		}
	})

	t.Run("TLS 1.1", func(t *testing.T) {
		tc, _ := b.ClientTLS("guest")
		tc.MinVersion, tc.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		c, err := tls.Dial("tcp", b.TLSAddr(), tc)
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		if _, ok := b.Logs().WaitFor("client offered only unsupported versions", time.Second); !ok {
			t.Fatalf("dial: %v; no version failure logged:\n%s", err, b.Logs())
		}
	})

	if n := len(b.Connections()); n != 0 {
		t.Fatalf("%d connections left", n)
	}
}

// Heartbeats over TLS: octets are counted on the socket, below TLS, so a
// client that goes silent after connection.open is closed between 2T and
// 3T after its last octet exactly as over plain TCP (T = 2 protocol seconds
// of 100 ms). The close is rabbit_net:fast_close/1's: a RST on a plain
// socket, the close_notify alert first over TLS (the client reads a clean
// end of stream, as the interop suite saw from RabbitMQ 3.10.8).
func TestTLSHeartbeatDetectionMatchesTCP(t *testing.T) {
	b := start(t, unit, brokertest.WithTLS())
	const T = 2 * unit
	dials := map[string]func() net.Conn{
		"tcp": func() net.Conn {
			c, err := net.Dial("tcp", b.Addr())
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		"tls": func() net.Conn {
			tc, _ := b.ClientTLS("")
			c, err := tls.Dial("tcp", b.TLSAddr(), tc)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			r := brokertest.NewRawConn(t, dial())
			r.Connect("silent-"+name, 2)
			last := time.Now() // connection.open was the client's last octet
			kind, at, got := r.WaitClosed(6 * T)
			if kind == brokertest.NotClosed {
				t.Fatal("not closed within 6T")
			}
			if want := map[string]brokertest.CloseKind{"tcp": brokertest.ClosedRST, "tls": brokertest.ClosedFIN}[name]; kind != want {
				t.Errorf("the client saw %v, want %v", kind, want)
			}
			if d := at.Sub(last); d < 2*T-10*time.Millisecond || d > 3*T+T/2 {
				t.Fatalf("closed %v after the last octet, want 2T–3T (T = %v)", d, T)
			}
			beats := 0
			for _, f := range got {
				if f.Type == frames.TypeHeartbeat {
					beats++
				}
			}
			if beats < 3 {
				t.Errorf("%d heartbeats received from the broker, want one per T/2", beats)
			}
			info, ok := b.WaitClosed(r.Conn.LocalAddr(), time.Second)
			if !ok || info.Reason != broker.ReasonMissedHeartbeats {
				t.Fatalf("reason %v", info.Reason)
			}
		})
	}
}

// A broker that stops while a TLS handshake waits for its client ends it at
// once rather than after TLSHandshakeTimeout, and logs no failure.
func TestTLSShutdownDuringHandshake(t *testing.T) {
	b := start(t, unit, brokertest.WithTLS())
	c, err := net.Dial("tcp", b.TLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(20 * time.Millisecond) // accepted, the handshake waits for a ClientHello
	began := time.Now()
	b.Close()
	if d := time.Since(began); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	if lines := b.Logs().Lines("TLS server: handshake"); len(lines) > 0 {
		t.Fatalf("logged %q", lines)
	}
}

// A Config.TLS that takes client certificates without verifying them
// (tls.RequestClientCert) makes EXTERNAL refuse every login, as RabbitMQ's
// auth_config_sane/0 does when verify is not verify_peer; a certificate
// without a CN is refused with "no name found".
func TestEXTERNALUnsafeAndNoName(t *testing.T) {
	ca, err := brokertest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		auth tls.ClientAuthType
		subj pkix.Name
		log  string
	}{
		{"unsafe", tls.RequestClientCert, pkix.Name{CommonName: "guest"}, "EXTERNAL login refused: TLS configuration is unsafe"},
		{"no CN", tls.VerifyClientCertIfGiven, pkix.Name{Organization: []string{"beatmq"}}, "EXTERNAL login refused: no name found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := broker.DefaultConfig()
			cfg.MgmtAddr, cfg.HeartbeatUnit = "", unit
			cfg.TLS = &tls.Config{Certificates: []tls.Certificate{srv}, ClientCAs: ca.Pool(), ClientAuth: tc.auth}
			cfg.AuthMechanisms = []string{"PLAIN", "AMQPLAIN", "EXTERNAL"}
			b := start(t, unit, brokertest.WithConfig(cfg))
			cert, err := ca.Client(tc.subj)
			if err != nil {
				t.Fatal(err)
			}
			url := "amqps://" + b.TLSAddr() + "/"
			_, err = amqp091.DialConfig(url, amqp091.Config{
				SASL:            []amqp091.Authentication{&amqp091.ExternalAuth{}},
				TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}},
			})
			if !errors.Is(err, amqp091.ErrCredentials) {
				t.Fatalf("dial: %v", err)
			}
			if _, ok := b.Logs().WaitFor(tc.log, time.Second); !ok {
				t.Fatalf("no %q in:\n%s", tc.log, b.Logs())
			}
		})
	}
}

// The half-open fault on a TLS connection drops the client's records after
// decrypting them, uncounted: once cleared, the TLS stream goes on and so
// does the AMQP connection (its dropped frames lost, as over TCP).
func TestTLSHalfOpenCleared(t *testing.T) {
	for _, tlsOn := range []bool{true, false} {
		t.Run(map[bool]string{true: "tls", false: "tcp"}[tlsOn], func(t *testing.T) { halfOpenCleared(t, tlsOn) })
	}
}

func halfOpenCleared(t *testing.T, tlsOn bool) {
	b := start(t, unit, brokertest.WithTLS())
	var r *brokertest.RawConn
	if tlsOn {
		r = dialTLSRaw(t, b, "")
	} else {
		r = brokertest.DialRaw(t, b.Addr())
	}
	r.Connect("tls-half-open", 0)
	info, _ := b.WaitConn(time.Second, func(c broker.ConnInfo) bool { return c.ClientName == "tls-half-open" })
	if err := b.Fault("tls-half-open", broker.Fault{Kind: broker.FaultHalfOpen}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the reader has moved to the dropping read
	r.SendHeartbeat()                 // dropped
	time.Sleep(50 * time.Millisecond)
	if got, _ := b.Conn(info.Name); got.RecvOctets != info.RecvOctets {
		t.Errorf("octets received under half-open: %d, were %d", got.RecvOctets, info.RecvOctets)
	}
	if err := b.ClearFault("tls-half-open"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the reader has left the dropping read
	r.SendMethod(1, &amqp.ChannelOpen{})
	if _, m, err := r.ReadMethod(2 * time.Second); err != nil {
		t.Fatalf("after the fault: %v\n%s", err, b.Logs())
	} else if _, ok := m.(*amqp.ChannelOpenOk); !ok {
		t.Fatalf("after the fault: %v", m)
	}
}
