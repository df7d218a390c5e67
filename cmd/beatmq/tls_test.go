package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// The TLS flags: bad combinations exit 2 with a message.
func TestBadTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca, err := brokertest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srvCert, _ := ca.Server()
	cert, key, err := ca.WriteFiles(dir, "server", srvCert)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--tls-addr", "127.0.0.1:0"}, // no certificate
		{"--tls-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", filepath.Join(dir, "missing.pem")},
		{"--tls-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--tls-verify", "verify_peer"}, // no CA
		{"--tls-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--tls-verify", "verify_maybe"},
		{"--tls-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--tls-fail-if-no-peer-cert"},
		{"--ssl-cert-login-from", "serial_number"},
		{"--auth-mechanisms", "PLAIN,SCRAM-SHA-256"}, {"--auth-mechanisms", "PLAIN,PLAIN"}, {"--auth-mechanisms", ""},
		{"--mgmt-tls-addr", "127.0.0.1:0"}, // no certificate
		{"--mgmt-tls-addr", "127.0.0.1:0", "--mgmt-tls-cert", cert, "--mgmt-tls-key", filepath.Join(dir, "missing.pem")},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if !strings.HasPrefix(errb.String(), "beatmq: ") {
			t.Errorf("%v: stderr %q", args, errb.String())
		}
	}
}

// --tls-addr with verify_peer: the listener is logged as RabbitMQ logs it,
// listed in /api/overview as amqp/ssl, and with EXTERNAL in
// --auth-mechanisms a client certificate logs in with it.
func TestTLSServed(t *testing.T) {
	dir := t.TempDir()
	ca, err := brokertest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srvCert, _ := ca.Server()
	cert, key, err := ca.WriteFiles(dir, "server", srvCert)
	if err != nil {
		t.Fatal(err)
	}
	addr, tlsAddr, mgmtAddr, mgmtTLSAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	logFile := filepath.Join(dir, "log")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		run(ctx, []string{"--addr", addr, "--mgmt-addr", mgmtAddr, "--prometheus-addr", "", "--mgmt-tls-addr", mgmtTLSAddr, "--tls-addr", tlsAddr,
			"--tls-cert", cert, "--tls-key", key, "--tls-ca", filepath.Join(dir, "ca.pem"),
			"--tls-verify", "verify_peer", "--auth-mechanisms", "PLAIN,AMQPLAIN,EXTERNAL", "--log-file", logFile, "--data-dir", ""}, &out, &errb)
	})
	defer wg.Wait()
	defer cancel()

	clientCert, err := ca.Client(pkix.Name{CommonName: "guest"})
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{clientCert}}
	var conn *amqp091.Connection
	for range 400 {
		if conn, err = amqp091.DialConfig("amqps://"+tlsAddr+"/", amqp091.Config{SASL: []amqp091.Authentication{&amqp091.ExternalAuth{}}, TLSClientConfig: tc}); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("EXTERNAL over TLS: %v (stderr %s)", err, errb.String())
	}
	defer conn.Close()

	// The management API over HTTPS, with the amqps listener's certificate.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	defer hc.CloseIdleConnections()
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://"+mgmtTLSAddr+path, nil)
		req.SetBasicAuth("guest", "guest")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var conns []struct {
		AuthMechanism string  `json:"auth_mechanism"`
		SSL           bool    `json:"ssl"`
		SSLProtocol   *string `json:"ssl_protocol"`
		PeerSubject   *string `json:"peer_cert_subject"`
	}
	get("/api/connections", &conns)
	if len(conns) != 1 || conns[0].AuthMechanism != "EXTERNAL" || !conns[0].SSL || conns[0].SSLProtocol == nil || !strings.HasPrefix(*conns[0].SSLProtocol, "tlsv1.") ||
		conns[0].PeerSubject == nil || *conns[0].PeerSubject != "CN=guest" {
		t.Fatalf("connections %+v", conns)
	}
	var ov struct {
		Listeners []struct {
			Protocol  string `json:"protocol"`
			IPAddress string `json:"ip_address"`
		} `json:"listeners"`
	}
	get("/api/overview", &ov)
	protocols := map[string]bool{}
	for _, l := range ov.Listeners {
		protocols[l.Protocol] = true
	}
	if len(ov.Listeners) != 4 || !protocols["amqp"] || !protocols["amqp/ssl"] || !protocols["http"] || !protocols["https"] {
		t.Fatalf("listeners %+v", ov.Listeners)
	}
	log, _ := os.ReadFile(logFile)
	started := strings.Index(string(log), "started TLS (SSL) listener on "+tlsAddr)
	complete := strings.Index(string(log), "Server startup complete")
	if !strings.Contains(string(log), "Management plugin: HTTPS listener started on "+mgmtTLSAddr) {
		t.Errorf("no HTTPS listener line in:\n%s", log)
	}
	if started < 0 || complete < started {
		t.Fatalf("log:\n%s", log)
	}
}

// --auth-mechanisms maps onto Config.AuthMechanisms in its order, RabbitMQ's
// PLAIN, AMQPLAIN by default, and connection.start offers them (EXTERNAL on
// TLS connections only, so not here).
func TestAuthMechanismsFlag(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		offered string
	}{
		{nil, []string{"PLAIN", "AMQPLAIN"}, "PLAIN AMQPLAIN"},
		{[]string{"--auth-mechanisms", "AMQPLAIN"}, []string{"AMQPLAIN"}, "AMQPLAIN"},
		{[]string{"--auth-mechanisms", "EXTERNAL, AMQPLAIN,PLAIN"}, []string{"EXTERNAL", "AMQPLAIN", "PLAIN"}, "AMQPLAIN PLAIN"},
	} {
		var o options
		if err := newFlagSet(&o, io.Discard).Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := o.config(nil)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !slices.Equal(cfg.AuthMechanisms, tc.want) {
			t.Errorf("%v: AuthMechanisms %q, want %q", tc.args, cfg.AuthMechanisms, tc.want)
		}
		cfg.DataDir = ""
		b := brokertest.Run(t, brokertest.WithConfig(cfg))
		r := brokertest.DialRaw(t, b.Addr())
		r.SendProtocolHeader()
		if s := brokertest.Expect[*amqp.ConnectionStart](r, 5*time.Second); s.Mechanisms != tc.offered {
			t.Errorf("%v: connection.start offers %q, want %q", tc.args, s.Mechanisms, tc.offered)
		}
	}
}
