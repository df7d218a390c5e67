package mgmt

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// hashingAlgorithm is the only password hashing beatmq knows, RabbitMQ
// 3.10's default.
const hashingAlgorithm = "rabbit_password_hashing_sha256"

// userJSON is one element of GET /api/users, RabbitMQ 3.10's shape.
type userJSON struct {
	Name             string         `json:"name"`
	PasswordHash     string         `json:"password_hash"`
	HashingAlgorithm string         `json:"hashing_algorithm"`
	Tags             []string       `json:"tags"`
	Limits           map[string]any `json:"limits"`
}

func toUserJSON(u UserAccount) userJSON {
	tags := u.Tags
	if tags == nil {
		tags = []string{}
	}
	alg := u.HashingAlgorithm
	if alg == "" {
		alg = hashingAlgorithm
	}
	return userJSON{Name: u.Name, PasswordHash: u.PasswordHash, HashingAlgorithm: alg, Tags: tags, Limits: map[string]any{}}
}

// requireAdmin answers RabbitMQ's 401 "Not administrator user" unless u is
// an administrator (rabbit_mgmt_util:is_authorized_admin/2).
func requireAdmin(w http.ResponseWriter, u *user) bool {
	if !u.isAdmin() {
		notAuthorised(w, "Not administrator user")
		return false
	}
	return true
}

// getUsers serves GET /api/users (administrators).
func (h *handler) getUsers(w http.ResponseWriter, _ *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	out := []userJSON{}
	for _, a := range h.b.Users() {
		out = append(out, toUserJSON(a))
	}
	writeJSON(w, http.StatusOK, out)
}

// findUser returns the user called name.
func (h *handler) findUser(name string) (UserAccount, bool) {
	for _, a := range h.b.Users() {
		if a.Name == name {
			return a, true
		}
	}
	return UserAccount{}, false
}

// getUser serves GET /api/users/{name} (administrators).
func (h *handler) getUser(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	a, ok := h.findUser(r.PathValue("name"))
	if !ok {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(a))
}

// putUser serves PUT /api/users/{name} (administrators): {"password":…} or
// {"password_hash":…, "hashing_algorithm":…}, and "tags" as a list or a
// comma-separated string (required, as in RabbitMQ). 201 for a new user,
// 204 for a changed one.
func (h *handler) putUser(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	var req struct {
		Password         *string         `json:"password"`
		PasswordHash     *string         `json:"password_hash"`
		HashingAlgorithm string          `json:"hashing_algorithm"`
		Tags             json.RawMessage `json:"tags"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if req.Password != nil && req.PasswordHash != nil {
		// rabbit_auth_backend_internal:put_user/3
		writeError(w, http.StatusBadRequest, "bad_request", "both_password_and_password_hash_are_provided")
		return
	}
	if req.HashingAlgorithm != "" && req.HashingAlgorithm != hashingAlgorithm {
		writeError(w, http.StatusBadRequest, "bad_request", "unsupported hashing_algorithm "+req.HashingAlgorithm)
		return
	}
	if len(req.Tags) == 0 {
		// rabbit_auth_backend_internal:put_user/3
		writeError(w, http.StatusBadRequest, "bad_request", "tags_not_present")
		return
	}
	tags, err := parseTags(req.Tags)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	acc := UserAccount{Name: r.PathValue("name"), Tags: tags}
	if req.PasswordHash != nil {
		acc.PasswordHash = *req.PasswordHash
	}
	var pw string
	if req.Password != nil {
		pw = *req.Password
	}
	created, err := h.b.PutUser(acc, pw, req.Password != nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	h.log.Info("management API: user '"+acc.Name+"' put", "by", u.name)
	if created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseTags reads "tags" as RabbitMQ accepts it: a list of strings or one
// comma-separated string; null means none.
func parseTags(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return []string{}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errors.New("tags must be a list of strings or a comma-separated string")
	}
	out := []string{}
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out, nil
}

// deleteUser serves DELETE /api/users/{name} (administrators).
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	if err := h.b.DeleteUser(r.PathValue("name")); err != nil {
		writeAccountsError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeAccountsError answers an Accounts error: 404 for ErrNotFound, 400
// for anything else.
func writeAccountsError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNotFound) {
		writeNotFound(w)
		return
	}
	writeError(w, http.StatusBadRequest, "bad_request", err.Error())
}
