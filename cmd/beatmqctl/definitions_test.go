package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// realBroker runs a beatmq with its management API and returns the
// environment that points beatmqctl at it.
func realBroker(t *testing.T) (*brokertest.Broker, map[string]string) {
	t.Helper()
	b := brokertest.Run(t)
	hs := httptest.NewServer(mgmt.NewHandler(mgmt.ServerBroker(b.Server(), nil), nil))
	t.Cleanup(hs.Close)
	return b, map[string]string{"BEATMQ_MGMT_URL": hs.URL}
}

// import_definitions and export_definitions, with rabbitmqctl's banners
// and exit codes; a refused file says why and changes nothing.
func TestDefinitionsCommands(t *testing.T) {
	b, env := realBroker(t)
	dir := t.TempDir()
	in := filepath.Join("..", "..", "broker", "testdata", "definitions", "rabbitmq-3.10.8.json")

	r := ctl(env, "import_definitions", in)
	wantCode(t, r, 0)
	if r.stdout != "Importing definitions in JSON from a file at \""+in+"\" ...\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
	if _, ok := b.Server().VHost("orders").Queue("qq"); !ok {
		t.Fatal("queue qq was not imported")
	}

	out := filepath.Join(dir, "out.json")
	r = ctl(env, "export_definitions", out)
	wantCode(t, r, 0)
	if r.stdout != "Exporting definitions in JSON to a file at \""+out+"\" ...\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
	doc, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(doc), `"name":"alice"`) {
		t.Fatalf("exported %s, %v", doc, err)
	}
	r = ctl(env, "export_definitions", "-")
	wantCode(t, r, 0)
	if r.stdout != string(doc) {
		t.Fatalf("export to - wrote %q", r.stdout)
	}

	// Standard input.
	old := stdin
	stdin = strings.NewReader(`{"vhosts":[{"name":"from-stdin"}]}`)
	defer func() { stdin = old }()
	wantCode(t, ctl(env, "-q", "import_definitions", "-"), 0)
	if b.Server().VHost("from-stdin") == nil {
		t.Fatal("vhost from-stdin was not imported")
	}

	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"vhosts":[{"name":"new"}],"queues":[{"name":"q","vhost":"/nope","durable":true}]}`), 0o600)
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"import_definitions", bad}, 65, "queues[0]: vhost '/nope' does not exist"},
		{[]string{"import_definitions", filepath.Join(dir, "missing.json")}, 65, "Bad argument: File " + filepath.Join(dir, "missing.json") + " does not exist"},
		{[]string{"import_definitions"}, 64, ""},
		{[]string{"export_definitions", filepath.Join(dir, "no", "such", "dir.json")}, 73, "no such file or directory"},
	} {
		r := ctl(env, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("beatmqctl %q: code %d, stderr %q; want %d with %q", tc.args, r.code, r.stderr, tc.code, tc.stderr)
		}
	}
	if b.Server().VHost("new") != nil {
		t.Fatal("a refused file created vhost 'new'")
	}
}
