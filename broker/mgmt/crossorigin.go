package mgmt

import (
	"fmt"
	"log/slog"
	"net/http"
)

// refuseCrossOrigin wraps next in net/http's CrossOriginProtection: a
// browser request with a non-safe method (POST, PUT, DELETE…) sent by a page
// of another origin, as its Sec-Fetch-Site or Origin header shows, gets 403
// {"error":"forbidden","reason":"Cross-origin request refused"} and a
// warning in the log. Safe methods, same-origin requests and requests
// without either header (curl, client libraries, beatmqctl) pass.
//
// The web page sends its credentials in an Authorization header, which a
// cross-site form cannot add either; this refuses such requests before they
// reach authentication at all.
func refuseCrossOrigin(next http.Handler, log *slog.Logger) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Warn(fmt.Sprintf("HTTP cross-origin request refused: %s %s (origin %q, sec-fetch-site %q)",
			r.Method, r.URL.EscapedPath(), r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site")),
			"method", r.Method, "path", r.URL.EscapedPath(), "origin", r.Header.Get("Origin"),
			"remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "forbidden", "Cross-origin request refused")
	}))
	return cop.Handler(next)
}
