package mgmt_test

import (
	"net/http"
	"slices"
	"testing"
)

// rabbitHash is a password_hash from a RabbitMQ 3.7 definitions export,
// published with its password: legatest.
const rabbitHash = "P9snZluoiHj2JeGqrDYmUHGLu637Qo7Fjgn5wakpk4jCyvcO"

type userBody struct {
	Name             string         `json:"name"`
	PasswordHash     string         `json:"password_hash"`
	HashingAlgorithm string         `json:"hashing_algorithm"`
	Tags             []string       `json:"tags"`
	Limits           map[string]any `json:"limits"`
}

func TestUsersAPI(t *testing.T) {
	srv, _ := newServer(t)
	put := func(path, body string) response {
		return do(t, srv, http.MethodPut, path, "guest", "guest", map[string]string{"Content-Type": "application/json"}, body)
	}
	wantStatus(t, put("/api/users/app", `{"password":"pw","tags":"management"}`), http.StatusCreated)
	wantStatus(t, put("/api/users/app", `{"password":"pw2","tags":["management","monitoring"]}`), http.StatusNoContent)
	var u userBody
	decode(t, get(t, srv, "/api/users/app"), &u)
	if u.Name != "app" || u.HashingAlgorithm != "rabbit_password_hashing_sha256" || u.PasswordHash == "" ||
		!slices.Equal(u.Tags, []string{"management", "monitoring"}) || u.Limits == nil {
		t.Fatalf("GET /api/users/app = %+v", u)
	}
	var who struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	decode(t, do(t, srv, http.MethodGet, "/api/whoami", "app", "pw2", nil, ""), &who)
	if who.Name != "app" {
		t.Fatalf("whoami = %+v", who)
	}
	// Only administrators read and change users.
	wantError(t, do(t, srv, http.MethodGet, "/api/users", "app", "pw2", nil, ""), http.StatusUnauthorized, "not_authorised", "Not administrator user")
	wantError(t, do(t, srv, http.MethodPut, "/api/users/x", "app", "pw2", nil, `{"password":"x"}`), http.StatusUnauthorized, "not_authorised", "Not administrator user")

	// A RabbitMQ password_hash logs in with its password.
	wantStatus(t, put("/api/users/legatest", `{"password_hash":"`+rabbitHash+`","hashing_algorithm":"rabbit_password_hashing_sha256","tags":"management"}`), http.StatusCreated)
	wantStatus(t, do(t, srv, http.MethodGet, "/api/whoami", "legatest", "legatest", nil, ""), http.StatusOK)
	decode(t, get(t, srv, "/api/users/legatest"), &u)
	if u.PasswordHash != rabbitHash {
		t.Fatalf("password_hash = %s, want %s", u.PasswordHash, rabbitHash)
	}

	wantError(t, put("/api/users/bad", `{"password":"a","password_hash":"`+rabbitHash+`"}`), http.StatusBadRequest, "bad_request", "both_password_and_password_hash_are_provided")
	wantStatus(t, put("/api/users/bad", `{"password_hash":"nonsense!","tags":""}`), http.StatusBadRequest)
	wantError(t, put("/api/users/bad", `{"password":"a"}`), http.StatusBadRequest, "bad_request", "tags_not_present")

	var all []userBody
	decode(t, get(t, srv, "/api/users"), &all)
	if len(all) != 3 || all[0].Name != "app" || all[1].Name != "guest" || all[2].Name != "legatest" {
		t.Fatalf("GET /api/users = %+v", all)
	}
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/users/app", "guest", "guest", nil, ""), http.StatusNoContent)
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/users/app", "guest", "guest", nil, ""), http.StatusNotFound)
	wantStatus(t, get(t, srv, "/api/users/app"), http.StatusNotFound)
}

func TestVhostsAndPermissionsAPI(t *testing.T) {
	srv, b := newServer(t)
	b.AddUser("app", "pw", "management")
	put := func(path, body string) response {
		return do(t, srv, http.MethodPut, path, "guest", "guest", map[string]string{"Content-Type": "application/json"}, body)
	}
	wantStatus(t, put("/api/vhosts/%2Fx", ``), http.StatusCreated)
	wantStatus(t, put("/api/vhosts/%2Fx", ``), http.StatusNoContent)
	var v struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	decode(t, get(t, srv, "/api/vhosts/%2Fx"), &v)
	if v.Name != "/x" {
		t.Fatalf("GET /api/vhosts/%%2Fx = %+v", v)
	}
	wantError(t, do(t, srv, http.MethodPut, "/api/vhosts/y", "app", "pw", nil, ""), http.StatusUnauthorized, "not_authorised", "Not administrator user")

	wantStatus(t, put("/api/permissions/%2Fx/app", `{"configure":"^app-","write":".*","read":""}`), http.StatusCreated)
	wantStatus(t, put("/api/permissions/%2Fx/app", `{"configure":"^app-","write":".*","read":".*"}`), http.StatusNoContent)
	wantError(t, put("/api/permissions/%2Fx/app", `{"configure":".*"}`), http.StatusBadRequest, "bad_request", "[{key_missing,write},{key_missing,read}]")
	wantError(t, put("/api/permissions/%2Fx/nobody", `{"configure":".*","write":".*","read":".*"}`), http.StatusBadRequest, "bad_request", "vhost_or_user_not_found")
	wantError(t, put("/api/permissions/%2Fnone/app", `{"configure":".*","write":".*","read":".*"}`), http.StatusBadRequest, "bad_request", "vhost_or_user_not_found")
	type perm struct{ User, Vhost, Configure, Write, Read string }
	var p perm
	decode(t, get(t, srv, "/api/permissions/%2Fx/app"), &p)
	if p != (perm{"app", "/x", "^app-", ".*", ".*"}) {
		t.Fatalf("GET /api/permissions/%%2Fx/app = %+v", p)
	}
	// The vhost's creator, guest, was given every permission in it.
	decode(t, get(t, srv, "/api/permissions/%2Fx/guest"), &p)
	if p != (perm{"guest", "/x", ".*", ".*", ".*"}) {
		t.Fatalf("GET /api/permissions/%%2Fx/guest = %+v", p)
	}
	var ps []perm
	decode(t, get(t, srv, "/api/permissions"), &ps)
	if len(ps) != 3 || ps[0].Vhost != "/" || ps[1].Vhost != "/x" {
		t.Fatalf("GET /api/permissions = %+v", ps)
	}
	decode(t, get(t, srv, "/api/users/app/permissions"), &ps)
	if len(ps) != 1 || ps[0].User != "app" {
		t.Fatalf("GET /api/users/app/permissions = %+v", ps)
	}
	decode(t, get(t, srv, "/api/vhosts/%2F/permissions"), &ps)
	if len(ps) != 1 || ps[0].User != "guest" || ps[0].Vhost != "/" {
		t.Fatalf("GET /api/vhosts/%%2F/permissions = %+v", ps)
	}
	// A management user sees only the vhosts it holds a permission in.
	var vs []struct{ Name string }
	decode(t, do(t, srv, http.MethodGet, "/api/vhosts", "app", "pw", nil, ""), &vs)
	if len(vs) != 1 || vs[0].Name != "/x" {
		t.Fatalf("app's GET /api/vhosts = %+v", vs)
	}
	wantStatus(t, do(t, srv, http.MethodGet, "/api/permissions", "app", "pw", nil, ""), http.StatusUnauthorized)

	wantStatus(t, do(t, srv, http.MethodDelete, "/api/permissions/%2Fx/app", "guest", "guest", nil, ""), http.StatusNoContent)
	wantStatus(t, get(t, srv, "/api/permissions/%2Fx/app"), http.StatusNotFound)
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/permissions/%2Fx/app", "guest", "guest", nil, ""), http.StatusNotFound)
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/vhosts/%2Fx", "guest", "guest", nil, ""), http.StatusNoContent)
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/vhosts/%2Fx", "guest", "guest", nil, ""), http.StatusNotFound)
	wantStatus(t, get(t, srv, "/api/vhosts/%2Fx"), http.StatusNotFound)
}
