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

// withEXTERNAL lists EXTERNAL after RabbitMQ's defaults, as a RabbitMQ
// with rabbitmq_auth_mechanism_ssl and auth_mechanisms PLAIN, AMQPLAIN,
// EXTERNAL.
var withEXTERNAL = brokertest.WithAuthMechanisms("PLAIN", "AMQPLAIN", "EXTERNAL")

// connection.start offers Config.AuthMechanisms in their order, PLAIN
// AMQPLAIN by default, without EXTERNAL even on TLS; EXTERNAL, when listed,
// is offered on TLS connections, with or without a client certificate, and
// never on plain TCP (rabbit_reader:auth_mechanisms/1 and
// rabbit_auth_mechanism_ssl:should_offer/1).
func TestAuthMechanismsOffered(t *testing.T) {
	cases := []struct {
		name       string
		mechanisms []string // Config.AuthMechanisms
		tls, tcp   string   // what connection.start offers
	}{
		{"default", nil, "PLAIN AMQPLAIN", "PLAIN AMQPLAIN"},
		{"with EXTERNAL", []string{"PLAIN", "AMQPLAIN", "EXTERNAL"}, "PLAIN AMQPLAIN EXTERNAL", "PLAIN AMQPLAIN"},
		{"EXTERNAL first", []string{"EXTERNAL", "AMQPLAIN"}, "EXTERNAL AMQPLAIN", "AMQPLAIN"},
		{"reordered", []string{"AMQPLAIN", "PLAIN"}, "AMQPLAIN PLAIN", "AMQPLAIN PLAIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := start(t, unit, brokertest.WithTLS(), brokertest.WithAuthMechanisms(tc.mechanisms...))
			for _, user := range []string{"guest", ""} {
				r := dialTLSRaw(t, b, user)
				r.SendProtocolHeader()
				if s := brokertest.Expect[*amqp.ConnectionStart](r, 5*time.Second); s.Mechanisms != tc.tls {
					t.Errorf("TLS (cert %q): mechanisms %q, want %q", user, s.Mechanisms, tc.tls)
				}
			}
			r := brokertest.DialRaw(t, b.Addr())
			r.SendProtocolHeader()
			if s := brokertest.Expect[*amqp.ConnectionStart](r, 5*time.Second); s.Mechanisms != tc.tcp {
				t.Errorf("TCP: mechanisms %q, want %q", s.Mechanisms, tc.tcp)
			}
		})
	}
}

// start-ok with a mechanism that was not offered is a handshake error worded
// as rabbit_reader:auth_mechanism_to_module/2 words it: "invalid" for a
// mechanism RabbitMQ has registered (PLAIN, AMQPLAIN, RABBIT-CR-DEMO;
// EXTERNAL with rabbitmq_auth_mechanism_ssl, which beatmq takes to be
// enabled when AuthMechanisms lists it), "unknown" for any other, as
// RabbitMQ 3.10.8 answers EXTERNAL without the plugin, over TLS too.
func TestAuthMechanismNotOffered(t *testing.T) {
	cases := []struct {
		name       string
		mechanisms []string
		tls        bool
		mechanism  string
		want       string // "invalid" or "unknown"
	}{
		{"EXTERNAL not listed, TCP", nil, false, "EXTERNAL", "unknown"},
		{"EXTERNAL not listed, TLS", nil, true, "EXTERNAL", "unknown"},
		{"EXTERNAL listed, TCP", []string{"PLAIN", "AMQPLAIN", "EXTERNAL"}, false, "EXTERNAL", "invalid"},
		{"PLAIN not listed", []string{"AMQPLAIN"}, false, "PLAIN", "invalid"},
		{"RABBIT-CR-DEMO", nil, false, "RABBIT-CR-DEMO", "invalid"},
		{"made up", nil, true, "SCRAM-SHA-256", "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := start(t, unit, brokertest.WithTLS(), brokertest.WithAuthMechanisms(tc.mechanisms...))
			var r *brokertest.RawConn
			if tc.tls {
				r = dialTLSRaw(t, b, "guest")
			} else {
				r = brokertest.DialRaw(t, b.Addr())
			}
			r.SendProtocolHeader()
			brokertest.Expect[*amqp.ConnectionStart](r, 5*time.Second)
			r.SendMethod(0, &amqp.ConnectionStartOk{Mechanism: tc.mechanism, Response: "\x00guest\x00guest", Locale: "en_US"})
			if kind, _, _ := r.WaitClosed(5 * time.Second); kind == brokertest.NotClosed {
				t.Fatal("not closed")
			}
			want := `{handshake_error,starting,0,{amqp_error,command_invalid,"` + tc.want + ` authentication mechanism '` + tc.mechanism + `'",'connection.start_ok'}}`
			if _, ok := b.Logs().WaitFor(want, time.Second); !ok {
				t.Fatalf("no %s in:\n%s", want, b.Logs())
			}
		})
	}
}

// A client that prefers EXTERNAL whenever it is offered, as py-amqp (under
// kombu and Celery) does with its default GSSAPI, EXTERNAL, AMQPLAIN, PLAIN,
// logs in over TLS with its password: by default EXTERNAL is not offered,
// so it falls back to PLAIN, as with RabbitMQ. With EXTERNAL listed it picks
// EXTERNAL, and a certificate for a user logs in as that user.
func TestTLSClientPreferringEXTERNAL(t *testing.T) {
	prefersExternal := []amqp091.Authentication{&amqp091.ExternalAuth{}, &amqp091.PlainAuth{Username: "guest", Password: "guest"}}
	b := start(t, unit, brokertest.WithTLS())
	conn, err := dialAMQPS(t, b, "", prefersExternal...)
	if err != nil {
		t.Fatalf("EXTERNAL or PLAIN over TLS: %v", err)
	}
	defer conn.Close()
	if info, ok := b.ConnFrom(conn.LocalAddr()); !ok || info.AuthMechanism != "PLAIN" || info.User != "guest" {
		t.Fatalf("connection %+v", info)
	}

	bx := start(t, unit, brokertest.WithTLS(), withEXTERNAL)
	conn, err = dialAMQPS(t, bx, "guest", prefersExternal...)
	if err != nil {
		t.Fatalf("EXTERNAL listed: %v", err)
	}
	defer conn.Close()
	if info, ok := bx.ConnFrom(conn.LocalAddr()); !ok || info.AuthMechanism != "EXTERNAL" || info.User != "guest" {
		t.Fatalf("connection %+v", info)
	}
}

// EXTERNAL logs in the user named by the client certificate's CN, who must
// exist; no password is checked.
func TestEXTERNALLogin(t *testing.T) {
	b := start(t, unit, brokertest.WithTLS(), withEXTERNAL, brokertest.WithUsers(broker.User{Name: "alice", Password: "not-given"}))
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
	b := start(t, unit, brokertest.WithConfig(cfg), brokertest.WithTLS(), withEXTERNAL)
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
			b := start(t, unit, brokertest.WithTLS(), withEXTERNAL, brokertest.WithTLSVerify(tc.verify, false))
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
