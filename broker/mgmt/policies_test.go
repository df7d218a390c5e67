package mgmt_test

import (
	"net/http"
	"testing"
)

type policyBody struct {
	Vhost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Definition map[string]any `json:"definition"`
	Priority   int            `json:"priority"`
}

func TestPoliciesAPI(t *testing.T) {
	srv, b := newServer(t)
	put := func(path, user, body string) response {
		return do(t, srv, http.MethodPut, path, user, user, map[string]string{"Content-Type": "application/json"}, body)
	}
	wantStatus(t, put("/api/policies/%2F/len", "guest", `{"pattern":"^q","definition":{"max-length":5}}`), http.StatusCreated)
	wantStatus(t, put("/api/policies/%2F/len", "guest", `{"pattern":"^q","definition":{"max-length":5,"overflow":"reject-publish"},"priority":3,"apply-to":"queues"}`), http.StatusNoContent)
	var one policyBody
	decode(t, get(t, srv, "/api/policies/%2F/len"), &one)
	if one.Vhost != "/" || one.Name != "len" || one.Pattern != "^q" || one.ApplyTo != "queues" || one.Priority != 3 ||
		one.Definition["max-length"] != float64(5) || one.Definition["overflow"] != "reject-publish" {
		t.Fatalf("GET policy = %+v", one)
	}
	var all []policyBody
	decode(t, get(t, srv, "/api/policies"), &all)
	if len(all) != 1 || all[0].Name != "len" {
		t.Fatalf("GET /api/policies = %+v", all)
	}
	decode(t, get(t, srv, "/api/policies/%2F"), &all)
	if len(all) != 1 {
		t.Fatalf("GET /api/policies/%%2F = %+v", all)
	}

	// Bad input.
	for _, c := range []struct {
		path, body string
		status     int
		errName    string
		reason     string
	}{
		{"/api/policies/%2F/p", `{"pattern":`, http.StatusBadRequest, "bad_request", "not_json"},
		{"/api/policies/%2F/p", `{"definition":{"max-length":1}}`, http.StatusBadRequest, "bad_request", "[{key_missing,pattern}]"},
		{"/api/policies/nope/p", `{"pattern":".*","definition":{"max-length":1}}`, http.StatusNotFound, "not_found", "vhost_not_found"},
		{"/api/policies/%2F/p", `{"pattern":"(","definition":{"max-length":1}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\npattern should be regular expression but is invalid: {\"missing )\",1}\n"},
		{"/api/policies/%2F/p", `{"pattern":".*","definition":{"ha-mode":"all","foo":"a&b"}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\n[{&lt;&lt;\"foo\"&gt;&gt;,&lt;&lt;\"a&amp;b\"&gt;&gt;}] are not recognised policy settings\n"},
		{"/api/policies/%2F/p", `{"pattern":".*","definition":{"max-age":"1D"}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\n[{&lt;&lt;\"max-age\"&gt;&gt;,&lt;&lt;\"1D\"&gt;&gt;}] are not supported by beatmq\n"},
		{"/api/policies/%2F/p", `{"pattern":1,"definition":{"max-length":1}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\npattern should be a binary but was 1\n"},
		{"/api/policies/%2F/p", `{"pattern":".*","priority":"5","definition":{"max-length":1}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\npriority should be a number, actually was &lt;&lt;\"5\"&gt;&gt;\n"},
		{"/api/policies/%2F/p", `{"pattern":".*","definition":{"max-length":-1}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\n-1 is not a valid maximum length\n"},
		{"/api/policies/%2F/p", `{"pattern":".*","definition":{}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\nno policy provided\n"},
		{"/api/policies/%2F/p", `{"pattern":".*","apply-to":"bindings","definition":{"max-length":1}}`, http.StatusBadRequest, "bad_request",
			"Validation failed\n\napply-to 'bindings' unrecognised; should be 'queues', 'exchanges' or 'all'\n"},
	} {
		wantError(t, put(c.path, "guest", c.body), c.status, c.errName, c.reason)
	}
	wantStatus(t, get(t, srv, "/api/policies/nope"), http.StatusNotFound)
	wantStatus(t, get(t, srv, "/api/policies/%2F/p"), http.StatusNotFound)

	// A policymaker with a permission in the vhost may; a management user may not.
	b.AddUser("pm", "pm", "policymaker")
	b.AddUser("mg", "mg", "management")
	wantError(t, put("/api/policies/%2F/x", "pm", `{"pattern":".*","definition":{"expires":1000}}`), http.StatusUnauthorized, "not_authorised", "User not authorised to access object")
	wantStatus(t, do(t, srv, http.MethodPut, "/api/permissions/%2F/pm", "guest", "guest", nil, `{"configure":"","write":"","read":""}`), http.StatusCreated)
	wantStatus(t, put("/api/policies/%2F/x", "pm", `{"pattern":".*","definition":{"expires":1000}}`), http.StatusCreated)
	wantError(t, do(t, srv, http.MethodGet, "/api/policies/%2F", "mg", "mg", nil, ""), http.StatusUnauthorized, "not_authorised", "User not authorised to access virtual host")
	if r := do(t, srv, http.MethodGet, "/api/policies", "mg", "mg", nil, ""); r.status != http.StatusOK || r.body != "[]\n" {
		t.Fatalf("GET /api/policies as a management user without permissions: %d %q", r.status, r.body)
	}
	wantError(t, put("/api/policies/%2F/x", "mg", `{"pattern":".*","definition":{"expires":1000}}`), http.StatusUnauthorized, "not_authorised", "User not authorised to access object")

	wantStatus(t, do(t, srv, http.MethodDelete, "/api/policies/%2F/len", "guest", "guest", nil, ""), http.StatusNoContent)
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/policies/%2F/len", "guest", "guest", nil, ""), http.StatusNotFound)
	wantStatus(t, do(t, srv, http.MethodPut, "/api/vhosts/%2F", "guest", "guest", nil, ""), http.StatusNoContent)
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/vhosts/%2F", "guest", "guest", nil, ""), http.StatusNoContent)
	if ps := b.Policies(""); len(ps) != 0 {
		t.Fatalf("a deleted vhost's policies stay: %+v", ps)
	}
}
