package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// static holds the page's files, committed as they are served.
//
//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of the page and of every asset: only
// this origin's scripts, styles and fetches, no inline script or style, no
// framing, no form posted elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// AssetPrefix is the URL path under which the page's scripts and styles are
// served (static/ in the embedded files).
const AssetPrefix = "/static/"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assets maps URL paths ("/", "/index.html", "/static/js/app.js") to files.
var assets = loadAssets()

// loadAssets reads every embedded file once and computes its ETag.
func loadAssets() map[string]asset {
	m := make(map[string]asset)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a := asset{body: b, contentType: contentType(p), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		m["/"+p] = a
		if p == "static/index.html" {
			m["/"] = a
			m["/index.html"] = a
		}
		return nil
	})
	if err != nil {
		panic("webui: reading embedded files: " + err.Error())
	}
	return m
}

// Files lists the URL paths of the embedded files under AssetPrefix, in
// no particular order.
func Files() []string {
	var out []string
	for p := range assets {
		if strings.HasPrefix(p, AssetPrefix) {
			out = append(out, p)
		}
	}
	return out
}

// contentType is the Content-Type for a file name; files of unknown kinds
// are served as bytes.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Serves tells whether urlPath is the page's: "/", "/index.html" or under
// AssetPrefix. The management handler hands those to Handler and keeps
// everything else, /api/... included.
func Serves(urlPath string) bool {
	return urlPath == "/" || urlPath == "/index.html" || strings.HasPrefix(urlPath, AssetPrefix)
}

// Handler serves the page and its assets: GET and HEAD only (405 with an
// Allow header otherwise), with an ETag per file (If-None-Match answers
// 304), Cache-Control no-cache so a new build is picked up at once, and
// the security headers (see SetSecurityHeaders) on every answer, 404s
// included.
func Handler() http.Handler { return http.HandlerFunc(serve) }

// serve implements Handler.
func serve(w http.ResponseWriter, r *http.Request) {
	SetSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	a, ok := assets[r.URL.Path]
	if !ok {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// SetSecurityHeaders sets the page's Content-Security-Policy and the
// headers that keep it out of frames, stop content sniffing and send no
// Referer.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}
