//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// pikaLogin is one result line of python/pika_tls.py.
type pikaLogin struct {
	Name      string `json:"name"`
	OK        bool   `json:"ok"`
	Body      string `json:"body"`
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}

// pika over TLS against bin/beatmq with --tls-addr and verify_peer
// (certificates made by the test): PLAIN without a client certificate and
// EXTERNAL with one both log in and move a message; EXTERNAL with a
// certificate for an unknown user is refused, with RabbitMQ's reason in the
// broker's log.
func TestTLSPika(t *testing.T) {
	skipOnRabbitMQ(t)
	if err := runQuiet(pythonBin(), "-c", "import pika"); err != nil {
		t.Fatalf("pika is not installed for %s (run `make deps`): %v", pythonBin(), err)
	}
	tb := startTLSBeatmq(t, "PLAIN,AMQPLAIN,EXTERNAL")
	dir, tlsPort, logPath := tb.dir, tb.tlsPort, tb.logPath
	badCert, badKey := tb.write(t, "mallory", &pkix.Name{CommonName: "mallory"})
	cliCert, cliKey := tb.cliCert, tb.cliKey

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	py := exec.CommandContext(ctx, pythonBin(), "-u", filepath.Join("python", "pika_tls.py"),
		"--port", strconv.Itoa(tlsPort), "--ca", filepath.Join(dir, "ca.pem"),
		"--cert", cliCert, "--key", cliKey, "--unknown-cert", badCert, "--unknown-key", badKey)
	got := runLogins(t, py, "pika over TLS")
	for _, name := range []string{"plain", "external"} {
		if l := got[name]; !l.OK || l.Body != "over TLS: "+name {
			t.Errorf("%s: %+v", name, l)
		}
	}
	if l := got["unknown"]; l.OK || !strings.Contains(l.ErrorType, "Auth") && !strings.Contains(l.ErrorType, "AccessDenied") {
		t.Errorf("unknown user: %+v, want an authentication error", l)
	}
	log, _ := os.ReadFile(logPath)
	if strings.Contains(string(log), "TLS server: handshake") {
		t.Errorf("a handshake failure was logged (waitPort's probe is not one):\n%s", log)
	}
	for _, want := range []string{
		"started TLS (SSL) listener on " + hostPort(tlsPort),
		" - pika-tls-external): user 'guest' authenticated and granted access to vhost '/'",
		"EXTERNAL login refused: user 'mallory' - invalid credentials",
	} {
		if !strings.Contains(string(log), want) {
			t.Errorf("no %q in the broker log:\n%s", want, log)
		}
	}
}

// runLogins runs a TLS login program (pika_tls.py, TLSScenario.java) to
// completion and returns its result lines by login name, each logged under
// what.
func runLogins(t *testing.T, cmd *exec.Cmd, what string) map[string]pikaLogin {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", cmd.Args, err, stdout.String(), stderr.String())
	}
	got := map[string]pikaLogin{}
	for sc := bufio.NewScanner(&stdout); sc.Scan(); {
		var l pikaLogin
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		got[l.Name] = l
		t.Logf("%s, %s: ok=%v body=%q %s %s", what, l.Name, l.OK, l.Body, l.ErrorType, l.Error)
	}
	return got
}

// tlsBeatmq is a bin/beatmq child process with an amqps listener
// (verify_peer) whose certificates, made by the test, are in dir, offering
// the --auth-mechanisms it was started with.
type tlsBeatmq struct {
	dir, logPath    string
	tlsPort         int
	ca              *brokertest.CA
	cliCert, cliKey string // a client certificate for guest
}

// write issues a client certificate for subj (a server one if nil) and
// writes it to dir as name.pem and name-key.pem.
func (b *tlsBeatmq) write(t *testing.T, name string, subj *pkix.Name) (string, string) {
	t.Helper()
	c, err := b.ca.Server()
	if subj != nil {
		c, err = b.ca.Client(*subj)
	}
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := b.ca.WriteFiles(b.dir, name, c)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func startTLSBeatmq(t *testing.T, authMechanisms string) *tlsBeatmq {
	t.Helper()
	bin := os.Getenv("BEATMQ_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(), "bin", "beatmq")
	}
	ca, err := brokertest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	b := &tlsBeatmq{dir: t.TempDir(), ca: ca}
	srvCert, srvKey := b.write(t, "server", nil)
	b.cliCert, b.cliKey = b.write(t, "guest", &pkix.Name{CommonName: "guest"})
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if b.tlsPort, err = freePort(); err != nil {
		t.Fatal(err)
	}
	b.logPath = filepath.Join(b.dir, "beatmq.log")
	cmd := exec.Command(bin, "--addr", hostPort(port), "--mgmt-addr", "", "--prometheus-addr", "", "--data-dir", "",
		"--tls-addr", hostPort(b.tlsPort), "--tls-cert", srvCert, "--tls-key", srvKey,
		"--tls-ca", filepath.Join(b.dir, "ca.pem"), "--tls-verify", "verify_peer",
		"--auth-mechanisms", authMechanisms, "--log-file", b.logPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = stopProcess(cmd, exited, 10*time.Second) })
	if err := waitPort(hostPort(b.tlsPort), 10*time.Second, exited); err != nil {
		t.Fatalf("%v; output: %s", err, out.String())
	}
	return b
}
