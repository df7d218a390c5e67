package broker_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// mgmtSend sends method u with body as user:pw and returns the status and
// the response body.
func mgmtSend(t *testing.T, method, u, user, pw, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pw)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// POST and GET /api/definitions: RabbitMQ's export goes in, comes back
// the same; a bad document is a 400 with RabbitMQ's error shape and
// changes nothing.
func TestMgmtDefinitions(t *testing.T) {
	orig, err := os.ReadFile(rabbitExport)
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	if code, body := mgmtSend(t, "POST", hs.URL+"/api/definitions", "guest", "guest", string(orig)); code != http.StatusNoContent {
		t.Fatalf("POST: %d %s", code, body)
	}
	code, body := mgmtSend(t, "GET", hs.URL+"/api/definitions", "guest", "guest", "")
	if code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, body)
	}
	if g, w := normDefs(t, []byte(body)), normDefs(t, orig); !jsonEqual(g, w) {
		t.Fatalf("GET /api/definitions differs from RabbitMQ's export:\n%s", body)
	}
	code, body = mgmtSend(t, "GET", hs.URL+"/api/definitions/orders", "guest", "guest", "")
	if code != http.StatusOK || !strings.Contains(body, `"name":"qq","durable":true`) {
		t.Fatalf("GET /api/definitions/orders: %d %s", code, body)
	}

	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/definitions?download=rabbit.json", nil)
	req.SetBasicAuth("guest", "guest")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="rabbit.json"` {
		t.Fatalf("Content-Disposition %q", cd)
	}

	for _, tc := range []struct {
		method, path, user, pw, body string
		code                         int
		reason                       string
	}{
		{"POST", "/api/definitions", "guest", "guest", `{"queues":[`, 400, "bad JSON at line 1, column 12 (offset 11): unexpected end of input"},
		{"POST", "/api/definitions", "guest", "guest", `{"queues":[{"name":"n","vhost":"/","durable":true}],"bindings":[{"source":"amq.direct","vhost":"/x","destination":"q","destination_type":"queue","routing_key":""}]}`, 400, "bindings[0]: destination queue 'q' in vhost '/x' does not exist"},
		{"POST", "/api/definitions", "guest", "guest", `{"policies":[{"name":"p"}]}`, 400, "policies[0]: vhost is missing"},
		{"POST", "/api/definitions/nosuch", "guest", "guest", `{}`, 404, "Not Found"},
		{"GET", "/api/definitions/nosuch", "guest", "guest", ``, 404, "Not Found"},
		{"POST", "/api/definitions", "bob", "bobpw", `{}`, 401, "Not administrator user"},
		{"GET", "/api/definitions", "bob", "bobpw", ``, 401, "Not administrator user"},
	} {
		code, body := mgmtSend(t, tc.method, hs.URL+tc.path, tc.user, tc.pw, tc.body)
		var e struct{ Error, Reason string }
		_ = json.Unmarshal([]byte(body), &e)
		if code != tc.code || !strings.Contains(e.Reason, tc.reason) || (code == 400 && e.Error != "bad_request") {
			t.Errorf("%s %s %s: %d %s, want %d with reason %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.reason)
		}
	}
	if _, ok := b.Server().VHost("/").Queue("n"); ok {
		t.Fatal("a refused document declared queue 'n'")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
