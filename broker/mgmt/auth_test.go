package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
)

func TestAuthentication(t *testing.T) {
	srv, b := newServer(t)
	b.AddUser("notags", "pw")
	b.AddUser("pm", "pw", mgmt.TagPolicymaker)
	// GET /api/queues/%2F needs a permission in "/" (is_authorized_vhost).
	if err := b.SetPermission(mgmt.Permission{User: "pm", Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pass string
		wantStatus       int
		wantReason       string
	}{
		{"no credentials", "", "", http.StatusUnauthorized, "Login failed"},
		{"wrong password", "guest", "nope", http.StatusUnauthorized, "Login failed"},
		{"unknown user", "mallory", "guest", http.StatusUnauthorized, "Login failed"},
		{"user without management tag", "notags", "pw", http.StatusUnauthorized, "Not management user"},
		{"policymaker", "pm", "pw", http.StatusOK, ""},
		{"guest", "guest", "guest", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/overview", "/api/connections/", "/api/queues/%2F"} {
				r := do(t, srv, http.MethodGet, path, tt.user, tt.pass, nil, "")
				if tt.wantStatus == http.StatusOK {
					wantStatus(t, r, http.StatusOK)
					continue
				}
				// RabbitMQ 3.10.8: no body without credentials,
				// "not_authorized" (z) for wrong ones, "not_authorised" (s)
				// for a missing tag; the realm challenge for the first two.
				challenge := tt.wantReason == "Login failed"
				switch {
				case tt.user == "":
					wantStatus(t, r, http.StatusUnauthorized)
					if r.body != "" {
						t.Fatalf("%s: body %q, want none", path, r.body)
					}
				case challenge:
					wantError(t, r, tt.wantStatus, "not_authorized", tt.wantReason)
				default:
					wantError(t, r, tt.wantStatus, "not_authorised", tt.wantReason)
				}
				if got := r.header.Get("WWW-Authenticate"); challenge != (got == `Basic realm="RabbitMQ Management"`) {
					t.Fatalf("%s: WWW-Authenticate = %q", path, got)
				}
			}
		})
	}
	// Nothing was closed or changed by refused requests.
	r := do(t, srv, http.MethodDelete, "/api/connections/x", "guest", "bad", nil, "")
	wantStatus(t, r, http.StatusUnauthorized)
	if len(b.Closes()) != 0 {
		t.Fatalf("closes after refused DELETE: %v", b.Closes())
	}
}

func TestWhoami(t *testing.T) {
	srv, b := newServer(t)
	b.AddUser("mon", "pw", mgmt.TagMonitoring, "custom")
	var got struct {
		Name string
		Tags []string
	}
	decode(t, do(t, srv, http.MethodGet, "/api/whoami", "mon", "pw", nil, ""), &got)
	if got.Name != "mon" || len(got.Tags) != 2 || got.Tags[0] != "monitoring" || got.Tags[1] != "custom" {
		t.Fatalf("whoami = %+v", got)
	}
}
