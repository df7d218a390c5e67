package mgmt

import (
	"net/http"
	"slices"
)

// User tags, as RabbitMQ names them, that matter to the management API.
const (
	TagAdministrator = "administrator"
	TagMonitoring    = "monitoring"
	TagPolicymaker   = "policymaker"
	TagManagement    = "management"
)

// realm is the basic-auth realm RabbitMQ's management plugin announces.
const realm = `Basic realm="RabbitMQ Management"`

// user is an authenticated API user.
type user struct {
	name string
	tags []string
}

// has tells whether u carries tag.
func (u *user) has(tag string) bool { return slices.Contains(u.tags, tag) }

// isAdmin tells whether u may change the broker and close any connection.
func (u *user) isAdmin() bool { return u.has(TagAdministrator) }

// seesAll tells whether u may see every user's connections (RabbitMQ: the
// monitoring tag and above).
func (u *user) seesAll() bool { return u.isAdmin() || u.has(TagMonitoring) }

// isManagementUser tells whether tags let a user into the API at all
// (rabbit_mgmt_util:is_mgmt_user/1).
func isManagementUser(tags []string) bool {
	for _, t := range tags {
		switch t {
		case TagAdministrator, TagMonitoring, TagPolicymaker, TagManagement:
			return true
		}
	}
	return false
}

// authenticate checks the request's basic-auth credentials against the
// broker's users. On failure it writes RabbitMQ 3.10.8's 401 and returns
// false: without credentials, the realm challenge and no body; with wrong
// ones, the challenge and {"error":"not_authorized","reason":"Login failed"};
// for a user without a management tag, "Not management user" (see
// notAuthorised).
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (*user, bool) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", realm)
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false
	}
	tags, ok := h.b.Authenticate(name, pass)
	if !ok {
		h.log.Warn("HTTP access denied: user '" + name + "' - invalid credentials")
		w.Header().Set("WWW-Authenticate", realm)
		writeError(w, http.StatusUnauthorized, "not_authorized", "Login failed")
		return nil, false
	}
	if !isManagementUser(tags) {
		notAuthorised(w, "Not management user")
		return nil, false
	}
	return &user{name: name, tags: tags}, true
}

// notAuthorised writes RabbitMQ's 401 for a logged-in user who lacks a tag:
// {"error":"not_authorised","reason":reason}, with no realm challenge
// (RabbitMQ answers 401, not 403).
func notAuthorised(w http.ResponseWriter, reason string) {
	writeError(w, http.StatusUnauthorized, "not_authorised", reason)
}
