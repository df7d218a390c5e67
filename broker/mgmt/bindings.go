package mgmt

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
)

// bindingJSON is one element of GET /api/bindings, RabbitMQ's shape.
type bindingJSON struct {
	Source          string         `json:"source"`
	Vhost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
	PropertiesKey   string         `json:"properties_key"`
}

// toJSON renders b as rabbit_mgmt_format:binding/1 does.
func (b *Binding) toJSON() bindingJSON {
	return bindingJSON{
		Source: b.Source, Vhost: b.Vhost, Destination: b.Destination, DestinationType: b.DestinationType,
		RoutingKey: b.RoutingKey, Arguments: jsonTable(b.Arguments),
		PropertiesKey: propertiesKey(b.RoutingKey, b.Arguments),
	}
}

// propertiesKey names a binding among those with the same source and
// destination, as rabbit_mgmt_format:pack_binding_props/2 does: the
// routing key percent-encoded ("~" for an empty key without arguments),
// then, when there are arguments, "~" and a 6-character base64url hash of
// them. RabbitMQ hashes the Erlang term (erlang:phash2/2), which beatmq
// cannot reproduce: the hash has RabbitMQ's form, not its value.
func propertiesKey(key string, args map[string]any) string {
	if len(args) == 0 {
		if key == "" {
			return "~"
		}
		return quoteBindingKey(key)
	}
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	slices.Sort(names)
	h := fnv.New32a()
	for _, k := range names {
		h.Write([]byte(k))
		h.Write([]byte{0})
		v, _ := json.Marshal(jsonValue(args[k]))
		h.Write(v)
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], h.Sum32())
	return quoteBindingKey(key) + "~" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// quoteBindingKey percent-encodes a routing key for a URL segment, as
// RabbitMQ's quote_binding/1 does: everything but letters, digits, '-',
// '_' and '.' is escaped ("a.#" is "a.%23").
func quoteBindingKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// visibleVhosts returns the vhosts u may list the objects of: all for
// administrators and monitoring users, else those u holds a permission in
// (rabbit_mgmt_util:list_visible_vhosts/1).
func (h *handler) visibleVhosts(u *user) map[string]bool {
	vis := map[string]bool{}
	for _, v := range h.vhostList(u) {
		vis[v.Name] = true
	}
	return vis
}

// vhostAuthorised answers 401 "User not authorised to access virtual
// host", as rabbit_mgmt_util:is_authorized_vhost/2 does for a GET scoped
// to a vhost, unless u is an administrator or holds a permission in vhost;
// a vhost that does not exist passes (the endpoint then answers for it).
// It reports whether the request may go on.
func (h *handler) vhostAuthorised(w http.ResponseWriter, u *user, vhost string) bool {
	if u.isAdmin() || !h.vhostExists(vhost) || h.vhostAccess(u, vhost) {
		return true
	}
	notAuthorised(w, "User not authorised to access virtual host")
	return false
}

// bindingsWhere serves the bindings keep says to keep, of the vhosts u may
// see, in the broker's order (per vhost, the default-exchange bindings
// first).
func (h *handler) bindingsWhere(w http.ResponseWriter, u *user, keep func(*Binding) bool) {
	vis := h.visibleVhosts(u)
	out := []bindingJSON{}
	bs := h.b.Bindings()
	for i := range bs {
		if vis[bs[i].Vhost] && keep(&bs[i]) {
			out = append(out, bs[i].toJSON())
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getBindings serves GET /api/bindings and /api/bindings/{vhost} (404 for
// an unknown vhost, 401 for one the user may not see).
func (h *handler) getBindings(w http.ResponseWriter, r *http.Request, u *user) {
	vhost := r.PathValue("vhost")
	if vhost != "" && !h.vhostExists(vhost) {
		writeNotFound(w)
		return
	}
	if vhost != "" && !h.vhostAuthorised(w, u, vhost) {
		return
	}
	h.bindingsWhere(w, u, func(b *Binding) bool { return vhost == "" || b.Vhost == vhost })
}

// getExchangeBindings serves GET
// /api/exchanges/{vhost}/{name}/bindings/source and …/destination: the
// bindings from or to the exchange ("amq.default" is the default
// exchange); RabbitMQ 3.10.8 answers [] for an unknown exchange or vhost,
// 401 for a vhost the user may not see.
func (h *handler) getExchangeBindings(source bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		vhost, name := r.PathValue("vhost"), exchangeURLName(r)
		if !h.vhostAuthorised(w, u, vhost) {
			return
		}
		h.bindingsWhere(w, u, func(b *Binding) bool {
			if b.Vhost != vhost {
				return false
			}
			if source {
				return b.Source == name
			}
			return b.DestinationType == "exchange" && b.Destination == name
		})
	}
}

// getQueueBindings serves GET /api/queues/{vhost}/{name}/bindings: the
// queue's default-exchange binding, then those from other exchanges.
// RabbitMQ 3.10.8 lists the default-exchange binding even for a queue that
// does not exist (but nothing in a vhost that does not), and so does
// beatmq.
func (h *handler) getQueueBindings(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
	if !h.vhostAuthorised(w, u, vhost) {
		return
	}
	if !h.vhostExists(vhost) {
		writeJSON(w, http.StatusOK, []bindingJSON{})
		return
	}
	implicit := Binding{Vhost: vhost, Destination: name, DestinationType: "queue", RoutingKey: name}
	out := []bindingJSON{implicit.toJSON()}
	bs := h.b.Bindings()
	for i := range bs {
		b := &bs[i]
		if b.Vhost == vhost && b.Source != "" && b.DestinationType == "queue" && b.Destination == name {
			out = append(out, b.toJSON())
		}
	}
	writeJSON(w, http.StatusOK, out)
}
