package mgmt_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker/mgmt"
)

// PUT and DELETE on /api/beatmq/connections/{name}/fault: the body's kind and
// durations reach the broker; an unknown kind is 400 listing the kinds, an
// unknown connection 404, and neither changes anything; only administrators
// may inject.
func TestFaultEndpoint(t *testing.T) {
	srv, b := newServer(t)
	const name = "127.0.0.1:5000 -> 127.0.0.1:5672"
	b.AddConnection(mgmt.Connection{Name: name, User: "guest", Vhost: "/"})
	b.AddUser("watcher", "w", mgmt.TagMonitoring)
	path := mgmt.FaultPath(name)

	for _, tc := range []struct {
		method, path, user, body string
		status                   int
		reason                   string
	}{
		{http.MethodPut, path, "guest", `{"kind":"jitter"}`, http.StatusBadRequest,
			"valid kinds are mute-heartbeats, slow-heartbeats, freeze-out, freeze-in, half-open, latency, reset"},
		{http.MethodPut, path, "guest", `{"kind":"latency","delay":"1s"}`, http.StatusBadRequest, `unknown field \"delay\"`},
		{http.MethodPut, path, "guest", `{"for":"1s"}`, http.StatusBadRequest, `must carry \"kind\"`},
		{http.MethodPut, path, "guest", `{"kind":"reset","for":"soon"}`, http.StatusBadRequest, "soon"},
		{http.MethodPut, mgmt.FaultPath("nobody"), "guest", `{"kind":"reset"}`, http.StatusNotFound, "Not Found"},
		{http.MethodDelete, mgmt.FaultPath("nobody"), "guest", "", http.StatusNotFound, "Not Found"},
		{http.MethodPut, path, "watcher", `{"kind":"reset"}`, http.StatusUnauthorized, "Not administrator user"},
		{http.MethodGet, path, "guest", "", http.StatusMethodNotAllowed, "Method Not Allowed"},
	} {
		r := do(t, srv, tc.method, tc.path, tc.user, map[string]string{"guest": "guest", "watcher": "w"}[tc.user], nil, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.reason) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, r.status, r.body, tc.status, tc.reason)
		}
	}
	if len(b.Faults()) != 0 {
		t.Fatalf("refused requests changed something: %v", b.Faults())
	}

	r := do(t, srv, http.MethodPut, path, "guest", "guest", nil, `{"kind":"slow-heartbeats","for":"1m30s","factor":3}`)
	wantStatus(t, r, http.StatusNoContent)
	r = do(t, srv, http.MethodPut, path, "guest", "guest", nil, `{"kind":"latency","for":2.5,"latency":"250ms"}`)
	wantStatus(t, r, http.StatusNoContent)
	want := mgmt.Fault{Kind: "latency", For: 2500 * time.Millisecond, Latency: 250 * time.Millisecond}
	if got := b.Faults()[name]; got != want {
		t.Fatalf("fault %+v, want %+v", got, want)
	}
	var conns []map[string]any
	if err := json.Unmarshal([]byte(get(t, srv, "/api/connections").body), &conns); err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 || conns[0]["beatmq_fault"] != "latency" || conns[0]["beatmq_heartbeat_silence_in_max_t"] != nil {
		t.Fatalf("connections %v", conns)
	}
	wantStatus(t, do(t, srv, http.MethodDelete, path, "guest", "guest", nil, ""), http.StatusNoContent)
	if len(b.Faults()) != 0 {
		t.Fatalf("fault left after DELETE: %v", b.Faults())
	}
}
