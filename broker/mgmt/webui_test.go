package mgmt_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
	"github.com/beatmq/beatmq/broker/mgmt/webui"
)

func TestWebPageServed(t *testing.T) {
	srv, _ := newServer(t)
	for _, p := range []string{"/", "/index.html", "/static/js/app.js", "/static/style.css"} {
		r := do(t, srv, http.MethodGet, p, "", "", nil, "")
		wantStatus(t, r, http.StatusOK)
		if got := r.header.Get("Content-Security-Policy"); got != webui.CSP {
			t.Errorf("GET %s: CSP %q", p, got)
		}
		if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", p, r.header)
		}
	}
	r := do(t, srv, http.MethodGet, "/static/missing.js", "", "", nil, "")
	wantStatus(t, r, http.StatusNotFound)
	r = do(t, srv, http.MethodPost, "/", "guest", "guest", nil, "x")
	wantStatus(t, r, http.StatusMethodNotAllowed)
}

func TestAPIUnchangedBesideThePage(t *testing.T) {
	srv, _ := newServer(t)
	wantError(t, do(t, srv, http.MethodGet, "/api/nope", "", "", nil, ""), http.StatusNotFound, "Object Not Found", "Not Found")
	wantError(t, do(t, srv, http.MethodGet, "/favicon.ico", "", "", nil, ""), http.StatusNotFound, "Object Not Found", "Not Found")
	wantStatus(t, do(t, srv, http.MethodGet, "/api/overview", "", "", nil, ""), http.StatusUnauthorized)
	wantStatus(t, get(t, srv, "/api/overview"), http.StatusOK)
}

func TestCrossOriginRefused(t *testing.T) {
	b := mgmttest.New()
	b.AddConnection(mgmt.Connection{Name: "c1", User: "guest", Vhost: "/"})
	var logs bytes.Buffer
	srv := httptest.NewServer(mgmt.NewHandler(b, slog.New(slog.NewTextHandler(&logs, nil))))
	t.Cleanup(srv.Close)

	refused := []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
	}
	for _, hdr := range refused {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			r := do(t, srv, m, "/api/connections/c1", "guest", "guest", hdr, "")
			wantError(t, r, http.StatusForbidden, "forbidden", "Cross-origin request refused")
		}
	}
	if len(b.Closes()) != 0 {
		t.Fatalf("a refused DELETE closed the connection")
	}
	line := logs.String()
	for _, want := range []string{"cross-origin request refused", "DELETE /api/connections/c1", "https://evil.example"} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %q:\n%s", want, line)
		}
	}
	// Safe methods pass whatever the origin.
	wantStatus(t, do(t, srv, http.MethodGet, "/api/connections/c1", "guest", "guest", refused[0], ""), http.StatusOK)

	// Same-origin browser requests and requests without those headers pass.
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": srv.URL}
	r := do(t, srv, http.MethodPut, mgmt.FaultPath("c1"), "guest", "guest", same, `{"kind":"half-open"}`)
	wantStatus(t, r, http.StatusNoContent)
	r = do(t, srv, http.MethodDelete, mgmt.FaultPath("c1"), "guest", "guest", map[string]string{"Origin": srv.URL}, "")
	wantStatus(t, r, http.StatusNoContent)
	r = do(t, srv, http.MethodDelete, "/api/connections/c1", "guest", "guest", nil, "")
	wantStatus(t, r, http.StatusNoContent)
}
