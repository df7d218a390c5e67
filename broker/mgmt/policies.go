package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/beatmq/beatmq/broker/vhost"
)

// Policies is the part of Broker that keeps vhost policies (GET, PUT and
// DELETE on /api/policies).
type Policies interface {
	// Policies lists the policies of vhost, or of every vhost when vhost
	// is "", sorted by vhost then name.
	Policies(vhost string) []Policy
	// PutPolicy adds or replaces a policy, reporting whether it is new;
	// ErrNotFound for an unknown vhost, another error (RabbitMQ's
	// validation text) for a policy refused (400).
	PutPolicy(p Policy) (created bool, err error)
	// DeletePolicy removes a policy; ErrNotFound when the vhost or the
	// policy is unknown.
	DeletePolicy(vhost, name string) error
}

// Policy is a vhost policy as GET /api/policies shows it. Definition
// values are JSON's, integers as int64 (vhost.JSONValue).
type Policy struct {
	Vhost, Name, Pattern, ApplyTo string
	Priority                      int
	Definition                    map[string]any
}

// policyJSON is one element of GET /api/policies, RabbitMQ's fields in
// RabbitMQ's order.
type policyJSON struct {
	Vhost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Definition map[string]any `json:"definition"`
	Priority   int            `json:"priority"`
}

func (p Policy) toJSON() policyJSON {
	return policyJSON{Vhost: p.Vhost, Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Definition: p.Definition, Priority: p.Priority}
}

// mayUsePolicy is rabbit_mgmt_util:is_authorized_policies/2, for GET, PUT
// and DELETE of /api/policies/{vhost}/{name}: an administrator, or a
// policymaker with a permission in the vhost of the path or naming a vhost
// that does not exist (the endpoint then answers 404). Otherwise it answers
// 401 "User not authorised to access object".
func (h *handler) mayUsePolicy(w http.ResponseWriter, r *http.Request, u *user) bool {
	vh := r.PathValue("vhost")
	if u.isAdmin() || u.has(TagPolicymaker) && (!h.vhostExists(vh) || h.vhostAccess(u, vh)) {
		return true
	}
	notAuthorised(w, "User not authorised to access object")
	return false
}

// getPolicies serves GET /api/policies and /api/policies/{vhost}: any user
// of the API, who sees the policies of the vhosts it may list (404 for an
// unknown vhost, 401 for one it holds no permission in).
func (h *handler) getPolicies(w http.ResponseWriter, r *http.Request, u *user) {
	vh := r.PathValue("vhost")
	if vh != "" && !h.vhostExists(vh) {
		writeNotFound(w)
		return
	}
	if vh != "" && !h.vhostAuthorised(w, u, vh) {
		return
	}
	listed := h.listedVhosts(u)
	out := []policyJSON{}
	for _, p := range h.b.Policies(vh) {
		if listed.has(p.Vhost) {
			out = append(out, p.toJSON())
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getPolicy serves GET /api/policies/{vhost}/{name} (see mayUsePolicy).
func (h *handler) getPolicy(w http.ResponseWriter, r *http.Request, u *user) {
	if !h.mayUsePolicy(w, r, u) {
		return
	}
	vh, name := r.PathValue("vhost"), r.PathValue("name")
	for _, p := range h.b.Policies(vh) {
		if p.Vhost == vh && p.Name == name {
			writeJSON(w, http.StatusOK, p.toJSON())
			return
		}
	}
	writeNotFound(w)
}

// putPolicy serves PUT /api/policies/{vhost}/{name}: {"pattern":…,
// "definition":{…}, "priority":N, "apply-to":…}, the last two optional (0
// and "all"); 201 when new, 204 when replaced, 400 with RabbitMQ's
// validation text, 404 "vhost_not_found" (rabbit_mgmt_wm_policy).
func (h *handler) putPolicy(w http.ResponseWriter, r *http.Request, u *user) {
	if !h.mayUsePolicy(w, r, u) {
		return
	}
	vh, name := r.PathValue("vhost"), r.PathValue("name")
	if !h.vhostExists(vh) {
		writeError(w, http.StatusNotFound, "not_found", "vhost_not_found")
		return
	}
	var req map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "not_json")
		return
	}
	var missing []string
	for _, k := range []string{"pattern", "definition"} {
		if _, ok := req[k]; !ok {
			missing = append(missing, "{key_missing,"+k+"}")
		}
	}
	if len(missing) > 0 {
		// rabbit_mgmt_util:with_decode/5.
		writeError(w, http.StatusBadRequest, "bad_request", "["+strings.Join(missing, ",")+"]")
		return
	}
	p := Policy{Vhost: vh, Name: name, ApplyTo: vhost.ApplyToAll}
	if reason := decodePolicyFields(req, &p); reason != "" {
		writeError(w, http.StatusBadRequest, "bad_request", escapeReason(reason))
		return
	}
	created, err := h.b.PutPolicy(p)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "vhost_not_found")
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", escapeReason(err.Error()))
	case created:
		w.WriteHeader(http.StatusCreated)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// decodePolicyFields reads the body's fields into p; it returns the 400's
// reason, "" when they are good. A value of the wrong type gets
// rabbit_parameter_validation's text.
func decodePolicyFields(req map[string]json.RawMessage, p *Policy) string {
	wrapped := func(s string) string { return (&vhost.PolicyError{Reason: s}).Error() }
	var v any
	dec := func(raw json.RawMessage) any {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		v = nil
		_ = d.Decode(&v)
		return vhost.JSONValue(v)
	}
	pat, ok := dec(req["pattern"]).(string)
	if !ok {
		// rabbit_parameter_validation:regex/2 on a non-binary.
		return wrapped("pattern should be a binary but was " + jsonTerm(req["pattern"]))
	}
	p.Pattern = pat
	if raw, ok := req["priority"]; ok {
		switch n := dec(raw).(type) {
		case int64:
			p.Priority = int(n)
		case float64:
			p.Priority = int(n)
		default:
			return wrapped("priority should be a number, actually was " + jsonTerm(raw))
		}
	}
	if raw, ok := req["apply-to"]; ok {
		s, ok := dec(raw).(string)
		if !ok {
			return wrapped("apply-to '" + strings.Trim(string(raw), `"`) + "' unrecognised; should be 'queues', 'exchanges' or 'all'")
		}
		p.ApplyTo = s
	}
	def, err := vhost.DecodeDefinition(req["definition"])
	if err != nil {
		return err.Error()
	}
	p.Definition = def
	return ""
}

// jsonTerm prints a raw JSON value as ~p prints RabbitMQ's decoded term:
// a string as a binary.
func jsonTerm(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return `<<"` + s + `">>`
	}
	return string(raw)
}

// deletePolicy serves DELETE /api/policies/{vhost}/{name}: 204, or 404.
func (h *handler) deletePolicy(w http.ResponseWriter, r *http.Request, u *user) {
	if !h.mayUsePolicy(w, r, u) {
		return
	}
	if err := h.b.DeletePolicy(r.PathValue("vhost"), r.PathValue("name")); err != nil {
		writeAccountsError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// escapeReason escapes a validation text as the management plugin does
// before it puts it in a 400's reason: <<"x">> reads &lt;&lt;"x"&gt;&gt;.
func escapeReason(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
