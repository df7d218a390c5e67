package mgmt_test

import (
	"net/http"
	"testing"
)

func TestUnknownPathsAndMethods(t *testing.T) {
	srv, _ := newServer(t)
	// "/" is the web page (TestWebPageServed).
	for _, path := range []string{"/api", "/api/nope", "/api/connections/a/b", "/api//connections", "/api/queues/%2F/q/extra"} {
		// No credentials needed to learn a path does not exist.
		r := do(t, srv, http.MethodGet, path, "", "", nil, "")
		wantError(t, r, http.StatusNotFound, "Object Not Found", "Not Found")
	}
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodPost, "/api/overview", "GET, HEAD"},
		{http.MethodDelete, "/api/queues", "GET, HEAD"},
		{http.MethodPut, "/api/connections/x", "DELETE, GET, HEAD"},
		{http.MethodPost, "/api/beatmq/vm_memory_high_watermark", "GET, HEAD, PUT"},
	}
	for _, tt := range tests {
		r := do(t, srv, tt.method, tt.path, "guest", "guest", nil, "")
		wantStatus(t, r, http.StatusMethodNotAllowed)
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

func TestHeadIsGet(t *testing.T) {
	srv, _ := newServer(t)
	r := do(t, srv, http.MethodHead, "/api/overview", "guest", "guest", nil, "")
	wantStatus(t, r, http.StatusOK)
	if r.body != "" {
		t.Fatalf("HEAD body %q", r.body)
	}
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("HEAD headers %v", r.header)
	}
}
