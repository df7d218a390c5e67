//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// py-amqp (under kombu and Celery) over TLS with a password: it takes,
// from its default GSSAPI, EXTERNAL, AMQPLAIN, PLAIN, the first mechanism
// offered. With RabbitMQ's default auth_mechanisms (PLAIN, AMQPLAIN)
// EXTERNAL is not offered, so it logs in with AMQPLAIN and moves a message;
// with EXTERNAL listed it picks EXTERNAL and, without a client certificate,
// is refused, as RabbitMQ with rabbitmq_auth_mechanism_ssl refuses it.
func TestTLSPyAMQP(t *testing.T) {
	skipOnRabbitMQ(t)
	if err := runQuiet(pythonBin(), "-c", "import amqp"); err != nil {
		t.Fatalf("py-amqp is not installed for %s (run `make deps`): %v", pythonBin(), err)
	}
	for _, tc := range []struct {
		mechanisms, offered string
		ok                  bool
		log                 string
	}{
		{"PLAIN,AMQPLAIN", "PLAIN AMQPLAIN", true, " - pyamqp-tls): user 'guest' authenticated and granted access to vhost '/'"},
		{"PLAIN,AMQPLAIN,EXTERNAL", "PLAIN AMQPLAIN EXTERNAL", false, "EXTERNAL login refused: connection peer presented no TLS (x.509) certificate"},
	} {
		t.Run(tc.mechanisms, func(t *testing.T) {
			tb := startTLSBeatmq(t, tc.mechanisms)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			py := exec.CommandContext(ctx, pythonBin(), "-u", filepath.Join("python", "pyamqp_tls.py"),
				"--port", strconv.Itoa(tb.tlsPort), "--ca", filepath.Join(tb.dir, "ca.pem"))
			var stdout, stderr bytes.Buffer
			py.Stdout, py.Stderr = &stdout, &stderr
			if err := py.Run(); err != nil {
				t.Fatalf("pyamqp_tls.py: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			var l struct {
				pikaLogin
				Offered string `json:"offered"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &l); err != nil {
				t.Fatalf("result %q: %v", stdout.String(), err)
			}
			t.Logf("py-amqp over TLS, offered %q: ok=%v body=%q %s %s", l.Offered, l.OK, l.Body, l.ErrorType, l.Error)
			if l.Offered != tc.offered || l.OK != tc.ok || tc.ok && l.Body != "over TLS: pyamqp" {
				t.Errorf("got %+v, want offered %q ok %v", l, tc.offered, tc.ok)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				log, _ := os.ReadFile(tb.logPath)
				if strings.Contains(string(log), tc.log) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no %q in the log:\n%s", tc.log, log)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
