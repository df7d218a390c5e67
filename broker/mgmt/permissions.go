package mgmt

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// permissionJSON is one element of GET /api/permissions.
type permissionJSON struct {
	User      string `json:"user"`
	Vhost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// permissionsWhere serves the permissions that keep says to keep
// (administrators): GET /api/permissions, /api/users/{name}/permissions,
// /api/vhosts/{vhost}/permissions and /api/permissions/{vhost}/{user}.
func (h *handler) permissionsWhere(keep func(r *http.Request, p Permission) bool, one bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		if !requireAdmin(w, u) {
			return
		}
		out := []permissionJSON{}
		for _, p := range h.b.Permissions() {
			if keep(r, p) {
				out = append(out, permissionJSON(p))
			}
		}
		if one {
			if len(out) == 0 {
				writeNotFound(w)
				return
			}
			writeJSON(w, http.StatusOK, out[0])
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// putPermission serves PUT /api/permissions/{vhost}/{user}
// (administrators): {"configure":…, "write":…, "read":…}; 201 when new,
// 204 when changed.
func (h *handler) putPermission(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	var req struct {
		Configure *string `json:"configure"`
		Write     *string `json:"write"`
		Read      *string `json:"read"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var missing []string
	for _, k := range []struct {
		name string
		v    *string
	}{{"configure", req.Configure}, {"write", req.Write}, {"read", req.Read}} {
		if k.v == nil {
			missing = append(missing, "{key_missing,"+k.name+"}")
		}
	}
	if len(missing) > 0 {
		// rabbit_mgmt_util:with_decode/5's answer, as RabbitMQ 3.10.8 gives it.
		writeError(w, http.StatusBadRequest, "bad_request", "["+strings.Join(missing, ",")+"]")
		return
	}
	vh, name := r.PathValue("vhost"), r.PathValue("user")
	existed := false
	for _, p := range h.b.Permissions() {
		existed = existed || p.User == name && p.Vhost == vh
	}
	err := h.b.SetPermission(Permission{User: name, Vhost: vh, Configure: *req.Configure, Write: *req.Write, Read: *req.Read})
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusBadRequest, "bad_request", "vhost_or_user_not_found")
		return
	}
	if err != nil {
		writeAccountsError(w, err)
		return
	}
	if existed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// deletePermission serves DELETE /api/permissions/{vhost}/{user}.
func (h *handler) deletePermission(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	if err := h.b.ClearPermission(r.PathValue("user"), r.PathValue("vhost")); err != nil {
		writeAccountsError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
