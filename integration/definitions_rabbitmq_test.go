//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// TestDefinitionsIntoRabbitMQ (BEATMQ_TARGET=rabbitmq, make
// interop-rabbitmq): RabbitMQ's rabbitmqctl import_definitions takes
// beatmq's export, made from RabbitMQ's own export plus a transient queue,
// an internal exchange and binding arguments of several types, and its
// users log in to RabbitMQ with their passwords. Then RabbitMQ takes
// beatmq's export of a RabbitMQ export with policies
// (rabbitmq-3.10.8-policies.json), and its own export_definitions lists the
// same policies.
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

	// Policies: RabbitMQ's export, through beatmq, back into RabbitMQ.
	pdoc, err := os.ReadFile(filepath.Join(repoRoot(), "broker", "testdata", "definitions", "rabbitmq-3.10.8-policies.json"))
	if err != nil {
		t.Fatal(err)
	}
	ps := brokertest.Run(t).Server()
	if err := ps.ImportDefinitions(pdoc, ""); err != nil {
		t.Fatal(err)
	}
	pout, err := ps.ExportDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	pfile := filepath.Join(t.TempDir(), "beatmq-policies.json")
	if err := os.WriteFile(pfile, pout, 0o600); err != nil {
		t.Fatal(err)
	}
	ctl("import_definitions", pfile)
	want := defsPolicies(t, pout, nil)
	got := defsPolicies(t, []byte(ctl("export_definitions", "-")), map[string]bool{"shop": true, "/audit": true})
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("RabbitMQ's policies after importing beatmq's export:\n got %v\nwant %v", got, want)
	}
	if got := ctl("list_queues", "-p", "shop", "name", "policy"); !strings.Contains(got, "orders.eu\torders-ttl") || !strings.Contains(got, "orders.lost\tcap-all") {
		t.Errorf("list_queues -p shop name policy: %q", got)
	}
}

// defsPolicies is the policies list of a definitions document, each
// policy decoded, those of the vhosts in only (all when nil), sorted by
// vhost and name.
func defsPolicies(t *testing.T, doc []byte, only map[string]bool) []map[string]any {
	t.Helper()
	var d struct {
		Policies []map[string]any `json:"policies"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	out := []map[string]any{}
	for _, p := range d.Policies {
		if vh, _ := p["vhost"].(string); only == nil || only[vh] {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ki := out[i]["vhost"].(string) + "\x00" + out[i]["name"].(string)
		kj := out[j]["vhost"].(string) + "\x00" + out[j]["name"].(string)
		return ki < kj
	})
	return out
}
