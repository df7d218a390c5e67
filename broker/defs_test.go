package broker_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/broker/vhost"
)

// rabbitExport is GET /api/definitions of a RabbitMQ 3.10.8 node (users
// alice/alicepw, bob/bobpw, carol/carolpw, guest/guest).
const rabbitExport = "testdata/definitions/rabbitmq-3.10.8.json"

// normDefs decodes a definitions document and drops what only one side
// writes (product_name, product_version, global_parameters), sorting
// every list, so that two documents compare.
func normDefs(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	delete(d, "product_name")
	delete(d, "product_version")
	delete(d, "global_parameters")
	for k, v := range d {
		l, ok := v.([]any)
		if !ok {
			continue
		}
		sort.Slice(l, func(i, j int) bool {
			a, _ := json.Marshal(l[i])
			b, _ := json.Marshal(l[j])
			return string(a) < string(b)
		})
		d[k] = l
	}
	return d
}

// importFile starts a broker and imports the definitions file at path into
// it, failing the test if it is refused; it returns the broker and the file.
func importFile(t *testing.T, path string) (*brokertest.Broker, []byte) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Run(t)
	if err := b.Server().ImportDefinitions(orig, ""); err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return b, orig
}

// RabbitMQ's export imports into beatmq, its users log in with their
// passwords, and beatmq exports the same definitions back.
func TestDefinitionsRabbitMQRoundTrip(t *testing.T) {
	b, orig := importFile(t, rabbitExport)
	s := b.Server()
	mustDialAs(t, b, "alice", "alicepw", "/x")
	mustDialAs(t, b, "bob", "bobpw", "orders")
	mustDialAs(t, b, "guest", "guest", "/")
	if _, err := dialAs(b, "carol", "carolpw", "/x"); err == nil {
		t.Fatal("carol, who has no permissions, opened /x")
	}
	if _, err := dialAs(b, "alice", "bobpw", "/x"); err == nil {
		t.Fatal("a wrong password was accepted")
	}

	got, err := s.ExportDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := normDefs(t, got), normDefs(t, orig); !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Fatalf("export differs from RabbitMQ's:\n got %s\nwant %s", gj, wj)
	}

	// The bindings work: a message to orders with key eu.x reaches qq.
	if qs, err := s.VHost("orders").Route("orders", "eu.x", nil); err != nil || len(qs) != 1 || qs[0] != "qq" {
		t.Fatalf("Route = %v, %v", qs, err)
	}

	// Importing the same document again changes nothing.
	if err := s.ImportDefinitions(orig, ""); err != nil {
		t.Fatalf("second import: %v", err)
	}
}

// rabbitmqctl export_definitions' shape (vhosts with limits and metadata,
// queues with a type) imports too.
func TestDefinitionsRabbitmqctlExport(t *testing.T) {
	doc, err := os.ReadFile("testdata/definitions/rabbitmq-3.10.8-rabbitmqctl.json")
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Run(t)
	if err := b.Server().ImportDefinitions(doc, ""); err != nil {
		t.Fatal(err)
	}
	mustDialAs(t, b, "bob", "bobpw", "orders")
	if x, ok := b.Server().VHost("orders").Exchange("hdr"); !ok || x.Type != "headers" {
		t.Fatalf("exchange hdr: %+v, %v", x, ok)
	}
}

// One vhost's export has RabbitMQ's shape, and imports into another vhost.
func TestDefinitionsVHost(t *testing.T) {
	orig, err := os.ReadFile("testdata/definitions/rabbitmq-3.10.8-vhost-orders.json")
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Run(t)
	s := b.Server()
	if err := s.AddVHost("orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportDefinitions(orig, "nosuch"); !errors.Is(err, broker.ErrNoVHost) {
		t.Fatalf("import into a missing vhost: %v", err)
	}
	if err := s.ImportDefinitions(orig, "orders"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExportDefinitions("orders")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := normDefs(t, got), normDefs(t, orig); !reflect.DeepEqual(g, w) {
		t.Fatalf("export differs from RabbitMQ's:\n got %s\nwant %s", got, orig)
	}
}

// A document with a problem is refused as a whole, naming the problem.
func TestDefinitionsRefused(t *testing.T) {
	const user = `{"name":"u","password_hash":"","hashing_algorithm":"rabbit_password_hashing_sha256","tags":[]}`
	for _, tc := range []struct{ name, doc, want string }{
		{"bad JSON", "{\n  \"users\": [\n    {\"name\": }\n", "bad JSON at line 3, column 14"},
		{"truncated", `{"users": [`, "bad JSON at line 1, column 12 (offset 11): unexpected end of input"},
		{"not an object", `[1]`, "the document must be an object"},
		{"wrong type", `{"queues": {"a": 1}}`, "queues"},
		{"trailing data", `{} {}`, "data after the top-level object"},
		{"unknown vhost", `{"queues":[{"name":"q","vhost":"/nope","durable":true,"auto_delete":false,"arguments":{}}]}`, "queues[0]: vhost '/nope' does not exist"},
		{"missing queue", `{"vhosts":[{"name":"/x"}],"bindings":[{"source":"amq.direct","vhost":"/","destination":"q","destination_type":"queue","routing_key":"k","arguments":{}},{"source":"amq.direct","vhost":"/x","destination":"q","destination_type":"queue","routing_key":"k","arguments":{}}]}`, "bindings[0]: destination queue 'q' in vhost '/' does not exist"},
		{"missing exchange", `{"bindings":[{"source":"nope","vhost":"/","destination":"amq.fanout","destination_type":"exchange","routing_key":"","arguments":{}}]}`, "bindings[0]: source exchange 'nope' in vhost '/' does not exist"},
		{"hashing algorithm", `{"users":[{"name":"u","password_hash":"","hashing_algorithm":"rabbit_password_hashing_md5","tags":[]}]}`, "users[0]: user 'u': hashing_algorithm rabbit_password_hashing_md5: only rabbit_password_hashing_sha256 is supported"},
		{"bad hash", `{"users":[{"name":"u","password_hash":"abc","tags":"administrator"}]}`, "users[0]: user 'u': password_hash"},
		{"duplicate user", `{"users":[` + user + `,` + user + `]}`, "users[1]: user 'u' appears twice"},
		{"duplicate queue", `{"queues":[{"name":"q","vhost":"/","durable":true},{"name":"q","vhost":"/","durable":false}]}`, "queues[1]: queue 'q' in vhost '/' appears twice"},
		{"permission regex", `{"users":[` + user + `],"permissions":[{"user":"u","vhost":"/","configure":"(","write":"","read":""}]}`, "permissions[0]: permissions of user 'u' in vhost '/': invalid regular expression '('"},
		{"permission user", `{"permissions":[{"user":"nobody","vhost":"/","configure":"","write":"","read":""}]}`, "permissions[0]: user 'nobody' does not exist"},
		{"exchange type", `{"exchanges":[{"name":"x","vhost":"/","type":"x-nope","durable":true}]}`, "exchanges[0]: exchange 'x' in vhost '/': "},
		{"queue argument", `{"queues":[{"name":"ok","vhost":"/","durable":true},{"name":"q","vhost":"/","durable":true,"arguments":{"x-max-length":"many"}}]}`, "queues[1]: queue 'q' in vhost '/': "},
		{"inequivalent", `{"queues":[{"name":"there","vhost":"/","durable":false}]}`, "queues[0]: queue 'there' in vhost '/': PRECONDITION_FAILED"},
		{"policy key", `{"policies":[{"vhost":"/","name":"p","pattern":".*","apply-to":"queues","definition":{"max-age":"1D"},"priority":0}]}`, "policies[0]: policy 'p' in vhost '/': "},
		{"policy pattern", `{"policies":[{"vhost":"/","name":"p","pattern":"(","apply-to":"queues","definition":{"max-length":1},"priority":0}]}`, "policies[0]: policy 'p' in vhost '/': "},
		{"policy vhost", `{"policies":[{"vhost":"/nope","name":"p","pattern":".*","definition":{"max-length":1}}]}`, "policies[0]: vhost '/nope' does not exist"},
		{"parameters", `{"parameters":[{"value":{},"vhost":"/","component":"shovel","name":"s"}]}`, "parameters: beatmq has no runtime parameters"},
		{"global parameter", `{"global_parameters":[{"name":"cluster_name","value":"c"},{"name":"other","value":1}]}`, "global_parameters[1]: beatmq has no global parameter 'other'"},
		{"vhost limits", `{"vhosts":[{"name":"/l","limits":{"max-connections":10},"metadata":{"description":"","tags":[]}}]}`, "vhosts[0]: vhost '/l': beatmq has no vhost limits ({\"max-connections\":10})"},
		{"user limits", `{"users":[{"name":"u","password_hash":"","tags":[],"limits":{"max-channels":1}}]}`, "users[0]: user 'u': beatmq has no user limits"},
		{"topic permissions", `{"topic_permissions":[{"user":"guest","vhost":"/","exchange":"amq.topic","write":".*","read":".*"}]}`, "topic_permissions: beatmq has no topic permissions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := brokertest.Run(t)
			s := b.Server()
			// A durable queue there already, for the inequivalence case.
			if err := s.ImportDefinitions([]byte(`{"queues":[{"name":"there","vhost":"/","durable":true}]}`), ""); err != nil {
				t.Fatal(err)
			}
			before, _ := s.ExportDefinitions("")
			// Everything valid comes first, so a half-applied import shows.
			doc := strings.Replace(tc.doc, "{", `{"vhosts":[{"name":"/"},{"name":"/new"}],`, 1)
			if !json.Valid([]byte(tc.doc)) || !strings.HasPrefix(tc.doc, `{"`) || strings.Contains(tc.doc, `"vhosts"`) {
				doc = tc.doc
			}
			err := s.ImportDefinitions([]byte(doc), "")
			var de *broker.DefinitionsError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ImportDefinitions = %v, want a DefinitionsError with %q", err, tc.want)
			}
			if after, _ := s.ExportDefinitions(""); string(after) != string(before) {
				t.Fatalf("a refused import changed the broker:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// Policies go in and come out of a definitions document as RabbitMQ writes
// them, and an imported policy applies: a queue the document declares is
// held to its max-length.
func TestDefinitionsPolicies(t *testing.T) {
	b := brokertest.Run(t)
	s := b.Server()
	doc := `{"vhosts":[{"name":"/p"}],
	"queues":[{"name":"capped","vhost":"/p","durable":true,"auto_delete":false,"arguments":{}}],
	"policies":[{"vhost":"/p","name":"cap","pattern":"^capped$","apply-to":"queues","definition":{"max-length":2},"priority":1}]}`
	if err := s.ImportDefinitions([]byte(doc), ""); err != nil {
		t.Fatal(err)
	}
	ps := s.Policies("/p")
	if len(ps) != 1 || ps[0].Name != "cap" || ps[0].Priority != 1 || ps[0].ApplyTo != "queues" {
		t.Fatalf("policies after import: %+v", ps)
	}
	out, err := s.ExportDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	want := `"policies":[{"vhost":"/p","name":"cap","pattern":"^capped$","apply-to":"queues","definition":{"max-length":2},"priority":1}]`
	if !strings.Contains(string(out), want) {
		t.Fatalf("export has no %s:\n%s", want, out)
	}
	one, err := s.ExportDefinitions("/p")
	if err != nil {
		t.Fatal(err)
	}
	if want := `"policies":[{"name":"cap","pattern":"^capped$","apply-to":"queues","definition":{"max-length":2},"priority":1}]`; !strings.Contains(string(one), want) {
		t.Fatalf("vhost export has no %s:\n%s", want, one)
	}
	// Into another vhost, from the one-vhost document.
	if err := s.AddVHost("/q"); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportDefinitions(one, "/q"); err != nil {
		t.Fatal(err)
	}
	if ps := s.Policies("/q"); len(ps) != 1 || ps[0].VHost != "/q" {
		t.Fatalf("policies of /q after its import: %+v", ps)
	}
	// The policy holds the imported queue to 2 messages.
	sess := s.VHost("/p").Connect().NewSession(nil)
	for i := range 5 {
		m, err := vhost.NewMessage("", "capped", []byte{0, 0}, fmt.Appendf(nil, "m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sess.Publish("", "capped", false, m); err != nil {
			t.Fatal(err)
		}
	}
	found := false
	for _, q := range s.Queues() {
		if q.VHost == "/p" && q.Name == "capped" {
			found = true
			if q.Messages != 2 {
				t.Fatalf("capped holds %d messages, want 2 (policy max-length)", q.Messages)
			}
		}
	}
	if !found {
		t.Fatal("no queue capped in /p")
	}
}
