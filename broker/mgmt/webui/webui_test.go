package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt/webui"
)

// serve sends one request to the handler and returns the answer and body.
func serve(t *testing.T, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	webui.Handler().ServeHTTP(rec, req)
	resp := rec.Result()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// wantSecurityHeaders checks the CSP and the other security headers.
func wantSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": webui.CSP,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func TestPageAndAssets(t *testing.T) {
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/static/js/app.js">`},
		{"/index.html", "text/html; charset=utf-8", `id="login-form"`},
		{"/static/style.css", "text/css; charset=utf-8", "svg.chart"},
		{"/static/js/app.js", "text/javascript; charset=utf-8", "hashchange"},
		{"/static/js/api.js", "text/javascript; charset=utf-8", "credentials: 'omit'"},
		{"/static/js/dom.js", "text/javascript; charset=utf-8", "textContent"},
	} {
		resp, body := serve(t, http.MethodGet, tc.path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", tc.path, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.contentType)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		wantSecurityHeaders(t, "GET "+tc.path, resp.Header)
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: ETag %q, Cache-Control %q", tc.path, etag, resp.Header.Get("Cache-Control"))
			continue
		}
		resp, body = serve(t, http.MethodGet, tc.path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET %s If-None-Match: status %d body %q, want 304 and none", tc.path, resp.StatusCode, body)
		}
	}
}

// TestNoInlineCode checks that the page needs nothing its CSP forbids: no
// inline scripts, styles or event handler attributes, and no innerHTML in
// the scripts.
func TestNoInlineCode(t *testing.T) {
	_, page := serve(t, http.MethodGet, "/", nil)
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", "javascript:"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	for _, f := range webui.Files() {
		if !strings.HasSuffix(f, ".js") {
			continue
		}
		_, js := serve(t, http.MethodGet, f, nil)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", ".style.", "style:", "'style'", "setAttribute('on"} {
			if strings.Contains(js, bad) {
				t.Errorf("%s contains %q", f, bad)
			}
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	for _, p := range []string{"/static/", "/static/nope.js", "/static/js/", "/static/../index.html"} {
		resp, _ := serve(t, http.MethodGet, p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
		wantSecurityHeaders(t, "GET "+p, resp.Header)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp, _ := serve(t, m, "/", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: status %d Allow %q, want 405 and GET, HEAD", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	resp, body := serve(t, http.MethodHead, "/", nil)
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD /: status %d body %d bytes", resp.StatusCode, len(body))
	}
}

// TestSmall keeps every file small enough to read in one sitting.
func TestSmall(t *testing.T) {
	const limit = 24 << 10
	for _, f := range webui.Files() {
		_, body := serve(t, http.MethodGet, f, nil)
		if len(body) > limit {
			t.Errorf("%s is %d bytes, more than %d", f, len(body), limit)
		}
	}
}

func TestServes(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/index.html": true, "/static/js/app.js": true,
		"/api/overview": false, "/api/": false, "/favicon.ico": false, "/index.htm": false,
	} {
		if got := webui.Serves(p); got != want {
			t.Errorf("Serves(%q) = %v, want %v", p, got, want)
		}
	}
}
