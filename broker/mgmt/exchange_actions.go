package mgmt

import (
	"cmp"
	"errors"
	"net/http"
	"strings"

	"github.com/beatmq/beatmq/amqp"
)

// exchangeExists tells whether vhost has an exchange called name ("" is
// the default exchange).
func (h *handler) exchangeExists(vhost, name string) bool {
	for _, x := range h.b.Exchanges() {
		if x.Vhost == vhost && x.Name == name {
			return true
		}
	}
	return false
}

// exchangeURLName is the exchange a URL's name stands for: "amq.default"
// is the default exchange.
func exchangeURLName(r *http.Request) string {
	name := r.PathValue("name")
	if name == defaultExchangeURLName {
		return ""
	}
	return name
}

// putExchange serves PUT /api/exchanges/{vhost}/{name} with
// {"type":…,"durable":…,"auto_delete":…,"internal":…,"arguments":{…}}
// (each optional: type "direct", the others false, as in RabbitMQ 3.10):
// exchange.declare as the user (configure permission); 201 when created,
// 204 when it was there, 401 "Access refused." for an amq.* name, 400 with
// the AMQP error's text for an inequivalent redeclaration or a bad type,
// 404 {"error":"not_found","reason":"vhost_not_found"}.
func (h *handler) putExchange(w http.ResponseWriter, r *http.Request, u *user) {
	vhost := r.PathValue("vhost")
	if !h.vhostExists(vhost) {
		writeError(w, http.StatusNotFound, "not_found", "vhost_not_found")
		return
	}
	if !h.vhostAccess(u, vhost) {
		notAuthorised(w, "Access refused.")
		return
	}
	obj, ok := readObject(w, r, maxBodyBytes)
	if !ok {
		return
	}
	d := ExchangeDeclaration{Name: exchangeURLName(r)}
	if raw, ok := obj["type"]; ok {
		d.Type, _ = jsonString(raw)
	}
	d.Type = cmp.Or(d.Type, "direct")
	for _, f := range []struct {
		key string
		dst *bool
	}{{"durable", &d.Durable}, {"auto_delete", &d.AutoDelete}, {"internal", &d.Internal}} {
		if *f.dst, ok = jsonBool(w, obj, f.key); !ok {
			return
		}
	}
	if d.Arguments, ok = jsonArguments(w, obj); !ok {
		return
	}
	created, err := h.b.DeclareExchange(u.name, vhost, d)
	var e *amqp.Error
	if errors.As(err, &e) && e.Code == amqp.CommandInvalid {
		// RabbitMQ 3.10.8's API turns the type into an atom before
		// rabbit_exchange:check_type/1 sees it, which then always says
		// "invalid" (observed), where AMQP says "unknown" for most names.
		badRequest(w, strings.Replace(amqpReason(e), "unknown exchange type", "invalid exchange type", 1))
		return
	}
	if err != nil {
		writeAMQPRequestError(w, err)
		return
	}
	if created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteExchange serves DELETE /api/exchanges/{vhost}/{name}
// [?if-unused=true]: 404 for an unknown vhost or exchange, then
// exchange.delete as the user (configure permission): 204, 401 "Access
// refused." for the default and amq.* exchanges, 400 when if-unused
// finds bindings.
func (h *handler) deleteExchange(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), exchangeURLName(r)
	if !h.vhostExists(vhost) {
		writeNotFound(w)
		return
	}
	if !h.vhostAccess(u, vhost) {
		notAuthorised(w, "Access refused.")
		return
	}
	if !h.exchangeExists(vhost, name) {
		writeNotFound(w)
		return
	}
	if err := h.b.DeleteExchange(u.name, vhost, name, r.URL.Query().Get("if-unused") == "true"); err != nil {
		writeAMQPRequestError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
