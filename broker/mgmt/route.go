package mgmt

import (
	"net/http"
	"net/url"
	"strings"
)

// route matches request paths against a pattern of '/'-separated segments,
// each a literal or a {name} wildcard, and sets the wildcards' values for
// r.PathValue.
//
// http.ServeMux is not used because its wildcards never match a segment
// that is exactly "%2F" (it unescapes the segment to "/" and takes that for
// a trailing slash), and "%2F" is how the virtual host "/" appears in every
// RabbitMQ URL.
type route struct {
	segs  []string // literal, or "{name}"
	serve http.HandlerFunc
}

// newRoute parses pattern, e.g. "/api/queues/{vhost}/{name}". A pattern
// ending in "/" matches only paths with that trailing slash.
func newRoute(pattern string, serve http.HandlerFunc) route {
	return route{segs: strings.Split(strings.TrimPrefix(pattern, "/"), "/"), serve: serve}
}

// match tells whether r's path matches the route and, if so, sets the
// wildcards' values on r. Each segment of the escaped path is unescaped on
// its own, so "%2F" stays inside its segment; a wildcard matches a
// non-empty segment only.
func (rt *route) match(r *http.Request) bool {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return false
	}
	parts := strings.Split(p[1:], "/")
	if len(parts) != len(rt.segs) {
		return false
	}
	vals := make([]string, len(parts))
	for i, part := range parts {
		v, err := url.PathUnescape(part)
		if err != nil {
			return false
		}
		seg := rt.segs[i]
		if isWildcard(seg) {
			if v == "" {
				return false
			}
		} else if v != seg {
			return false
		}
		vals[i] = v
	}
	for i, seg := range rt.segs {
		if isWildcard(seg) {
			r.SetPathValue(seg[1:len(seg)-1], vals[i])
		}
	}
	return true
}

// isWildcard tells whether a pattern segment is a {name} wildcard.
func isWildcard(seg string) bool {
	return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
}
