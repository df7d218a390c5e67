package mgmt

import "net/http"

// getVhost serves GET /api/vhosts/{vhost} (administrators: RabbitMQ 3.10.8
// answers 401 "Not administrator user" to anyone else, even for a vhost
// listed by GET /api/vhosts).
func (h *handler) getVhost(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	name := r.PathValue("vhost")
	for _, v := range h.vhostList(u) {
		if v.Name == name {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeNotFound(w)
}

// putVhost serves PUT /api/vhosts/{vhost} (administrators): 201 when
// created, 204 when it was there. The user who creates it is given every
// permission in it, as RabbitMQ 3.10's management plugin does.
func (h *handler) putVhost(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	name := r.PathValue("vhost")
	created, err := h.b.PutVHost(name)
	if err != nil {
		writeAccountsError(w, err)
		return
	}
	if !created {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.log.Info("management API: vhost '"+name+"' created", "by", u.name)
	_ = h.b.SetPermission(Permission{User: u.name, Vhost: name, Configure: ".*", Write: ".*", Read: ".*"})
	w.WriteHeader(http.StatusCreated)
}

// deleteVhost serves DELETE /api/vhosts/{vhost} (administrators).
func (h *handler) deleteVhost(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	name := r.PathValue("vhost")
	if err := h.b.DeleteVHost(name); err != nil {
		writeAccountsError(w, err)
		return
	}
	h.log.Info("management API: vhost '"+name+"' deleted", "by", u.name)
	w.WriteHeader(http.StatusNoContent)
}
