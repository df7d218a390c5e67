package broker_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// dialTLSRaw opens a TLS connection to b's amqps listener for a scripted
// client, with a client certificate for user unless user is "".
func dialTLSRaw(t *testing.T, b *brokertest.Broker, user string) *brokertest.RawConn {
	t.Helper()
	tc, err := b.ClientTLS(user)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", b.TLSAddr(), tc)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	return brokertest.NewRawConn(t, c)
}

// dialAMQPS connects amqp091-go to b's amqps listener with auth, and a
// client certificate for certUser unless it is "".
func dialAMQPS(t *testing.T, b *brokertest.Broker, certUser string, auth ...amqp091.Authentication) (*amqp091.Connection, error) {
	t.Helper()
	tc, err := b.ClientTLS(certUser)
	if err != nil {
		t.Fatal(err)
	}
	url := "amqps://" + b.TLSAddr() + "/"
	return amqp091.DialConfig(url, amqp091.Config{SASL: auth, TLSClientConfig: tc})
}

// An amqps listener logs as RabbitMQ's does; amqp091-go logs in over it with
// PLAIN and uses it; the connection shows its TLS version.
func TestTLSListenerPLAIN(t *testing.T) {
	b := start(t, unit, brokertest.WithTLS())
	if _, ok := b.Logs().WaitFor("started TLS (SSL) listener on "+b.TLSAddr(), time.Second); !ok {
		t.Fatalf("no TLS listener line in:\n%s", b.Logs())
	}
	tc, err := b.ClientTLS("")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp091.DialTLS(b.TLSURL(), tc)
	if err != nil {
		t.Fatalf("DialTLS: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Publish("", q.Name, false, false, amqp091.Publishing{Body: []byte("over TLS")}); err != nil {
		t.Fatal(err)
	}
	m, ok, err := ch.Get(q.Name, true)
	if err != nil || !ok || string(m.Body) != "over TLS" {
		t.Fatalf("get: %q %v %v", m.Body, ok, err)
	}
	info, ok := b.ConnFrom(conn.LocalAddr())
	if !ok {
		t.Fatal("connection not listed")
	}
	if info.AuthMechanism != "PLAIN" || info.User != "guest" || !strings.HasPrefix(info.TLS.Version, "TLS 1.") {
		t.Fatalf("connection: mechanism %q user %q TLS %+v", info.AuthMechanism, info.User, info.TLS)
	}
	var listed []string
	for _, l := range b.Server().AMQPListeners() {
		listed = append(listed, l.Protocol+" "+l.Addr.String())
	}
	if want := "amqp/ssl " + b.TLSAddr(); !strings.Contains(strings.Join(listed, ";"), want) {
		t.Fatalf("listeners %v, want %q among them", listed, want)
	}
}

// connection.start offers EXTERNAL on TLS connections, with or without a
// client certificate (rabbit_auth_mechanism_ssl:should_offer/1), and never
// on plain TCP, where start-ok with EXTERNAL is a handshake error, "invalid"
// rather than "unknown" once the broker has TLS (the mechanism is known),
// as rabbit_reader:auth_mechanism_to_module/2 words it.
func TestEXTERNALOffered(t *testing.T) {
	b := start(t, unit, brokertest.WithTLS())
	for _, user := range []string{"guest", ""} {
		r := dialTLSRaw(t, b, user)
		r.SendProtocolHeader()
		if s := brokertest.Expect[*amqp.ConnectionStart](r, 5*time.Second); s.Mechanisms != "PLAIN AMQPLAIN EXTERNAL" {
			t.Errorf("TLS (cert %q): mechanisms %q", user, s.Mechanisms)
		}
	}
	r := brokertest.DialRaw(t, b.Addr())
	r.SendProtocolHeader()
	if s := brokertest.Expect[*amqp.ConnectionStart](r, 5*time.Second); s.Mechanisms != "PLAIN AMQPLAIN" {
		t.Errorf("TCP: mechanisms %q", s.Mechanisms)
	}
	r.SendMethod(0, &amqp.ConnectionStartOk{Mechanism: "EXTERNAL", Locale: "en_US"})
	if kind, _, _ := r.WaitClosed(5 * time.Second); kind == brokertest.NotClosed {
		t.Fatal("not closed")
	}
	want := `{handshake_error,starting,0,{amqp_error,command_invalid,"invalid authentication mechanism 'EXTERNAL'",'connection.start_ok'}}`
	if _, ok := b.Logs().WaitFor(want, time.Second); !ok {
		t.Fatalf("no %s in:\n%s", want, b.Logs())
	}
}

// EXTERNAL logs in the user named by the client certificate's CN, who must
// exist; no password is checked.
func TestEXTERNALLogin(t *testing.T) {
	b := start(t, unit, brokertest.WithTLS(), brokertest.WithUsers(broker.User{Name: "alice", Password: "not-given"}))
	conn, err := dialAMQPS(t, b, "alice", &amqp091.ExternalAuth{})
	if err != nil {
		t.Fatalf("EXTERNAL as alice: %v", err)
	}
	defer conn.Close()
	info, ok := b.ConnFrom(conn.LocalAddr())
	if !ok || info.User != "alice" || info.AuthMechanism != "EXTERNAL" {
		t.Fatalf("connection %+v", info)
	}
	if _, ok := b.Logs().WaitFor("user 'alice' authenticated and granted access to vhost '/'", time.Second); !ok {
		t.Fatalf("no login line in:\n%s", b.Logs())
	}
}

// ssl_cert_login_from distinguished_name: the user is the whole subject.
func TestEXTERNALDistinguishedName(t *testing.T) {
	cfg := broker.DefaultConfig()
	cfg.MgmtAddr, cfg.HeartbeatUnit = "", unit
	cfg.SSLCertLoginFrom = "distinguished_name"
	cfg.Users = []broker.User{{Name: "CN=alice,O=beatmq", Password: "x"}}
	b := start(t, unit, brokertest.WithConfig(cfg), brokertest.WithTLS())
	conn, err := dialAMQPS(t, b, "alice", &amqp091.ExternalAuth{})
	if err != nil {
		t.Fatalf("EXTERNAL as CN=alice,O=beatmq: %v", err)
	}
	defer conn.Close()
	if info, _ := b.ConnFrom(conn.LocalAddr()); info.User != "CN=alice,O=beatmq" {
		t.Fatalf("user %q", info.User)
	}
}

// EXTERNAL refusals carry rabbit_auth_mechanism_ssl's reasons, in the log;
// the client gets 403 ACCESS_REFUSED. Under verify_none no certificate is
// asked for, so even a client that has one presents none.
func TestEXTERNALRefused(t *testing.T) {
	cases := []struct {
		name, certUser, verify, log string
	}{
		{"unknown user", "mallory", "verify_peer", "EXTERNAL login refused: user 'mallory' - invalid credentials"},
		{"no certificate", "", "verify_peer", "EXTERNAL login refused: connection peer presented no TLS (x.509) certificate"},
		{"verify_none", "guest", "verify_none", "EXTERNAL login refused: connection peer presented no TLS (x.509) certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := start(t, unit, brokertest.WithTLS(), brokertest.WithTLSVerify(tc.verify, false))
			_, err := dialAMQPS(t, b, tc.certUser, &amqp091.ExternalAuth{})
			// amqp091-go reports the 403 connection.close it gets as ErrCredentials.
			if !errors.Is(err, amqp091.ErrCredentials) {
				t.Fatalf("dial: %v, want %v", err, amqp091.ErrCredentials)
			}
			if _, ok := b.Logs().WaitFor(tc.log, time.Second); !ok {
				t.Fatalf("no %q in:\n%s", tc.log, b.Logs())
			}
		})
	}
}
