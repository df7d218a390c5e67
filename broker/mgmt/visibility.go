package mgmt

import "net/http"

// Who sees what, as rabbitmq_management 3.10.8 decides it (rabbit_mgmt_util):
//
//   - GET /api/vhosts lists every vhost to administrators and monitoring
//     users, to others the vhosts they hold a permission in
//     (list_visible_vhosts/1): visibleVhosts.
//   - Lists of objects that live in a vhost (queues, exchanges, bindings,
//     policies) keep, for anyone but an administrator, the vhosts the user
//     holds a permission in, monitoring users included (filter_vhost/3,
//     which takes list_login_vhosts_names/2 unless the user is an
//     administrator): listedVhosts.
//   - A GET scoped to a vhost the user holds no permission in answers 401
//     "User not authorised to access virtual host", administrators
//     excepted, monitoring users not (is_authorized_vhost/2):
//     vhostAuthorised.
//   - Connections and channels: monitoring users and administrators see
//     all, others their own (filter_user/2): user.seesAll.

// vhostAccess tells whether u holds a permission in vhost, which every
// action on its queues and exchanges needs, administrators included
// (rabbit_mgmt_util:user_matches_vhost/2).
func (h *handler) vhostAccess(u *user, vhost string) bool {
	for _, p := range h.b.Permissions() {
		if p.User == u.name && p.Vhost == vhost {
			return true
		}
	}
	return false
}

// permittedVhosts returns the vhosts u holds a permission in
// (rabbit_mgmt_util:list_login_vhosts_names/2).
func (h *handler) permittedVhosts(u *user) vhostSet {
	vis := vhostSet{}
	for _, p := range h.b.Permissions() {
		if p.User == u.name {
			vis[p.Vhost] = true
		}
	}
	return vis
}

// visibleVhosts returns the vhosts GET /api/vhosts shows u: nil for all
// (administrators and monitoring users), else those u holds a permission
// in (rabbit_mgmt_util:list_visible_vhosts/1).
func (h *handler) visibleVhosts(u *user) vhostSet {
	if u.seesAll() {
		return nil
	}
	return h.permittedVhosts(u)
}

// listedVhosts returns the vhosts whose objects a list shows u: nil for all
// (administrators), else those u holds a permission in, monitoring users
// included (rabbit_mgmt_util:filter_vhost/3).
func (h *handler) listedVhosts(u *user) vhostSet {
	if u.isAdmin() {
		return nil
	}
	return h.permittedVhosts(u)
}

// vhostSet is a set of vhost names; nil holds every vhost.
type vhostSet map[string]bool

// has tells whether s holds vhost.
func (s vhostSet) has(vhost string) bool { return s == nil || s[vhost] }

// vhostAuthorised answers 401 "User not authorised to access virtual
// host", as rabbit_mgmt_util:is_authorized_vhost/2 does for a request
// scoped to a vhost, unless u is an administrator or holds a permission in
// vhost; a vhost that does not exist passes (the endpoint then answers 404
// or what RabbitMQ answers for it). It reports whether the request may go
// on.
func (h *handler) vhostAuthorised(w http.ResponseWriter, u *user, vhost string) bool {
	if u.isAdmin() || !h.vhostExists(vhost) || h.vhostAccess(u, vhost) {
		return true
	}
	notAuthorised(w, "User not authorised to access virtual host")
	return false
}
