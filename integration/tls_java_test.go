//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Java client over TLS against bin/beatmq with --tls-addr and
// verify_peer: PLAIN without a client certificate, EXTERNAL
// (DefaultSaslConfig.EXTERNAL) with one whose CN is guest.
func TestTLSJava(t *testing.T) {
	skipOnRabbitMQ(t)
	classes := t.TempDir()
	if err := runQuiet("javac", "-nowarn", "-d", classes, "-cp", javaClasspath(), filepath.Join("java", "TLSScenario.java")); err != nil {
		t.Fatalf("compiling TLSScenario.java (is the Java client installed? `make deps`): %v", err)
	}
	tb := startTLSBeatmq(t, "PLAIN,AMQPLAIN,EXTERNAL")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-XX:TieredStopAtLevel=1", "-cp", classes+":"+javaClasspath(), "TLSScenario",
		strconv.Itoa(tb.tlsPort), filepath.Join(tb.dir, "ca.pem"), tb.cliCert, tb.cliKey)
	got := runLogins(t, cmd, "Java over TLS")
	for _, name := range []string{"plain", "external"} {
		if l := got[name]; !l.OK || l.Body != "over TLS: "+name {
			t.Errorf("%s: %+v", name, l)
		}
	}
	log, _ := os.ReadFile(tb.logPath)
	if want := " - java-tls-external): user 'guest' authenticated and granted access to vhost '/'"; !strings.Contains(string(log), want) {
		t.Errorf("no %q in the broker log:\n%s", want, log)
	}
}
