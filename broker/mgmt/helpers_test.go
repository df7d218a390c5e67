package mgmt_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server starts the handler for b on an httptest server closed at cleanup.
func server(t *testing.T, b mgmt.Broker) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mgmt.NewHandler(b, nil))
	t.Cleanup(srv.Close)
	return srv
}

// newServer starts the handler for a fresh mgmttest.Broker.
func newServer(t *testing.T) (*httptest.Server, *mgmttest.Broker) {
	t.Helper()
	b := mgmttest.New()
	return server(t, b), b
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends method to srv.URL+path as user:pass (no credentials when user is
// empty) with the given headers and body, and reads the whole answer.
func do(t *testing.T, srv *httptest.Server, method, path, user, pass string, hdr map[string]string, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatalf("NewRequest %s %s: %v", method, path, err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// get is do with GET as guest/guest.
func get(t *testing.T, srv *httptest.Server, path string) response {
	t.Helper()
	return do(t, srv, http.MethodGet, path, "guest", "guest", nil, "")
}

// wantStatus fails the test unless r has status want.
func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.status, want, r.body)
	}
}

// decode unmarshals r's body into v, failing the test on error.
func decode(t *testing.T, r response, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

// wantError checks a RabbitMQ-style error answer.
func wantError(t *testing.T, r response, status int, errName, reason string) {
	t.Helper()
	wantStatus(t, r, status)
	var e struct{ Error, Reason string }
	decode(t, r, &e)
	if e.Error != errName || e.Reason != reason {
		t.Fatalf("error body = %+v, want error %q reason %q", e, errName, reason)
	}
}

// decodeBody unmarshals and closes resp's body.
func decodeBody(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
