//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// TestDefinitionsIntoRabbitMQ (BEATMQ_TARGET=rabbitmq, make
// interop-rabbitmq): RabbitMQ's rabbitmqctl import_definitions takes
// beatmq's export, made from RabbitMQ's own export plus a transient queue,
// an internal exchange and binding arguments of several types, and its
// users log in to RabbitMQ with their passwords.
func TestDefinitionsIntoRabbitMQ(t *testing.T) {
	tg := broker(t)
	r, ok := tg.(*rabbitTarget)
	if !ok {
		t.Skip("needs BEATMQ_TARGET=rabbitmq (the import into beatmq is broker/defs_test.go)")
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot(), "broker", "testdata", "definitions", "rabbitmq-3.10.8.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := brokertest.Run(t).Server()
	if err := s.ImportDefinitions(doc, ""); err != nil {
		t.Fatal(err)
	}
	extra := `{"vhosts":[{"name":"defs-extra"}],
	"users":[{"name":"defs-dave","password":"davepw","tags":["management"]}],
	"permissions":[{"user":"defs-dave","vhost":"defs-extra","configure":".*","write":"","read":"^r"}],
	"queues":[{"name":"tq","vhost":"defs-extra","durable":false,"auto_delete":true,"arguments":{"x-max-priority":5}}],
	"exchanges":[{"name":"ix","vhost":"defs-extra","type":"direct","durable":true,"auto_delete":false,"internal":true,"arguments":{}}],
	"bindings":[{"source":"ix","vhost":"defs-extra","destination":"tq","destination_type":"queue","routing_key":"k","arguments":{"f":1.5,"l":[1,"a"],"b":true}}]}`
	if err := s.ImportDefinitions([]byte(extra), ""); err != nil {
		t.Fatal(err)
	}
	out, err := s.ExportDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "beatmq-definitions.json")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	ctl := func(args ...string) string {
		t.Helper()
		b, err := r.script(append([]string{"ctl"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	ctl("import_definitions", file)
	for _, u := range [][2]string{{"alice", "alicepw"}, {"bob", "bobpw"}, {"defs-dave", "davepw"}} {
		ctl("authenticate_user", u[0], u[1])
	}
	if got := ctl("list_queues", "-p", "orders", "name", "type"); !strings.Contains(got, "qq\tquorum") {
		t.Errorf("list_queues -p orders: %q", got)
	}
	if got := ctl("list_bindings", "-p", "defs-extra", "source_name", "destination_name", "routing_key", "arguments"); !strings.Contains(got, "ix\ttq\tk") {
		t.Errorf("list_bindings -p defs-extra: %q", got)
	}
	if got := ctl("list_permissions", "-p", "defs-extra"); !strings.Contains(got, "defs-dave\t.*\t\t^r") {
		t.Errorf("list_permissions -p defs-extra: %q", got)
	}
}
