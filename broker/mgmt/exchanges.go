package mgmt

import (
	"cmp"
	"net/http"
	"slices"
)

// defaultExchangeURLName stands for the default exchange (name "") in URLs,
// as in RabbitMQ's API.
const defaultExchangeURLName = "amq.default"

// exchangeJSON is one element of GET /api/exchanges, with RabbitMQ's field
// names. Rates are left out.
type exchangeJSON struct {
	Arguments              map[string]any `json:"arguments"`
	AutoDelete             bool           `json:"auto_delete"`
	Durable                bool           `json:"durable"`
	Internal               bool           `json:"internal"`
	Name                   string         `json:"name"`
	Policy                 string         `json:"policy,omitempty"`
	Type                   string         `json:"type"`
	UserWhoPerformedAction string         `json:"user_who_performed_action"`
	Vhost                  string         `json:"vhost"`
}

// toJSON renders x as RabbitMQ does.
func (x *Exchange) toJSON() exchangeJSON {
	return exchangeJSON{
		Arguments:  jsonTable(x.Arguments),
		AutoDelete: x.AutoDelete,
		Durable:    x.Durable,
		Internal:   x.Internal,
		Name:       x.Name,
		Policy:     x.Policy,
		Type:       x.Type,
		// RabbitMQ's name for declarations made by the broker itself; beatmq
		// does not record who declared an exchange.
		UserWhoPerformedAction: "rmq-internal",
		Vhost:                  x.Vhost,
	}
}

// getExchanges serves GET /api/exchanges, /api/exchanges/ and
// /api/exchanges/{vhost}: the exchanges of the vhosts u may list (404 for
// an unknown vhost, 401 for one u holds no permission in).
func (h *handler) getExchanges(w http.ResponseWriter, r *http.Request, u *user) {
	vhost := r.PathValue("vhost")
	onlyVhost := vhost != ""
	if onlyVhost && !h.vhostAuthorised(w, u, vhost) {
		return
	}
	listed := h.listedVhosts(u)
	xs := h.b.Exchanges()
	out := make([]exchangeJSON, 0, len(xs))
	for i := range xs {
		if onlyVhost && xs[i].Vhost != vhost || !listed.has(xs[i].Vhost) {
			continue
		}
		out = append(out, xs[i].toJSON())
	}
	if onlyVhost && len(out) == 0 {
		// Every virtual host has its default exchange, so none means no vhost.
		writeNotFound(w)
		return
	}
	slices.SortFunc(out, func(a, b exchangeJSON) int {
		return cmp.Or(cmp.Compare(a.Vhost, b.Vhost), cmp.Compare(a.Name, b.Name))
	})
	writeJSON(w, http.StatusOK, out)
}

// getExchange serves GET /api/exchanges/{vhost}/{name}: 401 in a vhost u
// holds no permission in, whether the exchange exists or not.
func (h *handler) getExchange(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
	if !h.vhostAuthorised(w, u, vhost) {
		return
	}
	if name == defaultExchangeURLName {
		name = ""
	}
	for _, x := range h.b.Exchanges() {
		if x.Vhost == vhost && x.Name == name {
			writeJSON(w, http.StatusOK, x.toJSON())
			return
		}
	}
	writeNotFound(w)
}

// vhosts returns the names of the virtual hosts, sorted: those that have an
// exchange (each has at least its default exchange).
func (h *handler) vhosts() []string {
	var names []string
	for _, x := range h.b.Exchanges() {
		if !slices.Contains(names, x.Vhost) {
			names = append(names, x.Vhost)
		}
	}
	slices.Sort(names)
	return names
}

// vhostExists tells whether vhost is a virtual host.
func (h *handler) vhostExists(vhost string) bool {
	return slices.Contains(h.vhosts(), vhost)
}

// vhostJSON is one element of GET /api/vhosts.
type vhostJSON struct {
	Name                   string   `json:"name"`
	Description            string   `json:"description"`
	Tags                   []string `json:"tags"`
	Tracing                bool     `json:"tracing"`
	Messages               int      `json:"messages"`
	MessagesReady          int      `json:"messages_ready"`
	MessagesUnacknowledged int      `json:"messages_unacknowledged"`
}

// getVhosts serves GET /api/vhosts: every vhost to administrators and
// monitoring users, to others those they hold a permission in
// (rabbit_mgmt_util:list_visible_vhosts/1).
func (h *handler) getVhosts(w http.ResponseWriter, _ *http.Request, u *user) {
	writeJSON(w, http.StatusOK, h.vhostList(u))
}

// vhostList describes the vhosts u may see.
func (h *handler) vhostList(u *user) []vhostJSON {
	visible := h.visibleVhosts(u)
	out := []vhostJSON{}
	idx := map[string]int{}
	for _, n := range h.vhosts() {
		if !visible.has(n) {
			continue
		}
		idx[n] = len(out)
		out = append(out, vhostJSON{Name: n, Tags: []string{}})
	}
	for _, q := range h.b.Queues() {
		if i, ok := idx[q.Vhost]; ok {
			out[i].MessagesReady += q.MessagesReady
			out[i].MessagesUnacknowledged += q.MessagesUnacknowledged
			out[i].Messages += q.MessagesReady + q.MessagesUnacknowledged
		}
	}
	return out
}
