package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// --load-definitions applies RabbitMQ's export at every start: its users
// log in with their passwords, also after a restart on the same data
// directory.
func TestLoadDefinitions(t *testing.T) {
	file := filepath.Join("..", "..", "broker", "testdata", "definitions", "rabbitmq-3.10.8.json")
	dataDir := t.TempDir()
	for range 2 {
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		var out, errb bytes.Buffer
		var code int
		var wg sync.WaitGroup
		wg.Go(func() {
			code = run(ctx, []string{"--addr", addr, "--mgmt-addr", "", "--log-file", filepath.Join(t.TempDir(), "log"),
				"--data-dir", dataDir, "--load-definitions", file}, &out, &errb)
		})
		var c *amqp091.Connection
		var err error
		for range 200 {
			if c, err = amqp091.Dial("amqp://alice:alicepw@" + addr + "/%2Fx"); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err == nil {
			_ = c.Close()
		}
		cancel()
		wg.Wait()
		if err != nil || code != 0 {
			t.Fatalf("dial as alice: %v; exit %d, stderr %s", err, code, errb.String())
		}
	}
}

// A definitions file refused as a whole stops the start with its reason.
func TestLoadDefinitionsRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"vhosts":[{"name":"/x"}],"bindings":[{"source":"amq.direct","vhost":"/x","destination":"q","destination_type":"queue","routing_key":""}]}`), 0o600)
	for _, tc := range []struct{ file, want string }{
		{bad, "beatmq: --load-definitions " + bad + ": bindings[0]: destination queue 'q' in vhost '/x' does not exist\n"},
		{filepath.Join(dir, "none.json"), "beatmq: --load-definitions: open " + filepath.Join(dir, "none.json") + ": no such file or directory\n"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"--addr", freeAddr(t), "--mgmt-addr", "", "--log-file", filepath.Join(dir, "log"),
			"--data-dir", filepath.Join(dir, "data"), "--load-definitions", tc.file}, &out, &errb)
		if code != 1 || errb.String() != tc.want {
			t.Errorf("exit %d, stderr %q; want 1, %q", code, errb.String(), tc.want)
		}
	}
	// Nothing of the refused file was kept.
	if b, err := os.ReadFile(filepath.Join(dir, "data", "definitions.json")); err != nil || strings.Contains(string(b), `"/x"`) {
		t.Fatalf("definitions.json: %s, %v", b, err)
	}
}
