package mgmt

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/beatmq/beatmq/amqp"
)

// vhostAccess tells whether u holds a permission in vhost, which every
// action on its queues and exchanges needs, administrators included
// (rabbit_mgmt_util:is_authorized_vhost/2).
func (h *handler) vhostAccess(u *user, vhost string) bool {
	for _, p := range h.b.Permissions() {
		if p.User == u.name && p.Vhost == vhost {
			return true
		}
	}
	return false
}

// queueExists tells whether vhost has a queue called name.
func (h *handler) queueExists(vhost, name string) bool {
	for _, q := range h.b.Queues() {
		if q.Vhost == vhost && q.Name == name {
			return true
		}
	}
	return false
}

// queueActionAllowed answers a DELETE on a queue as RabbitMQ 3.10.8 does
// before it runs the AMQP method: 404 for an unknown vhost or queue, 401
// "Access refused." for a user without a permission in the vhost. It
// writes the answer and returns false when the action must stop.
func (h *handler) queueActionAllowed(w http.ResponseWriter, u *user, vhost, name string) bool {
	if !h.vhostExists(vhost) {
		writeNotFound(w)
		return false
	}
	if !h.vhostAccess(u, vhost) {
		notAuthorised(w, "Access refused.")
		return false
	}
	if !h.queueExists(vhost, name) {
		writeNotFound(w)
		return false
	}
	return true
}

// deleteQueue serves DELETE /api/queues/{vhost}/{name}[?if-empty=true]
// [&if-unused=true]: queue.delete as the user (configure permission), 204;
// a queue that is not empty or not unused is 400 with the AMQP error's
// text ("queue 'q' in vhost '/' not empty").
func (h *handler) deleteQueue(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
	if !h.queueActionAllowed(w, u, vhost, name) {
		return
	}
	q := r.URL.Query()
	ifEmpty, ifUnused := q.Get("if-empty") == "true", q.Get("if-unused") == "true"
	if err := h.b.DeleteQueue(u.name, vhost, name, ifUnused, ifEmpty); err != nil {
		writeAMQPRequestError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// purgeQueue serves DELETE /api/queues/{vhost}/{name}/contents:
// queue.purge as the user (read permission), 204.
func (h *handler) purgeQueue(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
	if !h.queueActionAllowed(w, u, vhost, name) {
		return
	}
	if err := h.b.PurgeQueue(u.name, vhost, name); err != nil {
		writeAMQPRequestError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putQueue serves PUT /api/queues/{vhost}/{name} with
// {"durable":…,"auto_delete":…,"arguments":{…}} (each optional, durable
// false by default as in RabbitMQ 3.10): queue.declare as the user
// (configure permission); 201 when created, 204 when it was there, 400
// with the AMQP error's text for an inequivalent redeclaration or a bad
// argument, 404 {"error":"not_found","reason":"vhost_not_found"} for an
// unknown vhost.
func (h *handler) putQueue(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
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
	d := QueueDeclaration{Name: name}
	if d.Durable, ok = jsonBool(w, obj, "durable"); !ok {
		return
	}
	if d.AutoDelete, ok = jsonBool(w, obj, "auto_delete"); !ok {
		return
	}
	if d.Arguments, ok = jsonArguments(w, obj); !ok {
		return
	}
	created, err := h.b.DeclareQueue(u.name, vhost, d)
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

// gotJSON is one element of the answer to POST .../get.
type gotJSON struct {
	PayloadBytes    int    `json:"payload_bytes"`
	Redelivered     bool   `json:"redelivered"`
	Exchange        string `json:"exchange"`
	RoutingKey      string `json:"routing_key"`
	MessageCount    uint32 `json:"message_count"`
	Properties      any    `json:"properties"`
	Payload         string `json:"payload"`
	PayloadEncoding string `json:"payload_encoding"`
}

// getMessages serves POST /api/queues/{vhost}/{name}/get with
// {"count":N,"ackmode":…,"encoding":"auto"|"base64","truncate":N}
// (truncate optional), as rabbit_mgmt_wm_queue_get does: basic.get as the
// user (read permission) up to count times, the messages settled as
// ackmode says, answered as a list. Refusals: 401 "Access refused." for
// an unknown vhost or one the user has no permission in; 401 with the
// AMQP text for a missing read permission; 404
// {"error":"not_found","reason":"NOT_FOUND - no queue …"}; 400 for a bad
// body; 500 with no body for an unknown ackmode (RabbitMQ crashes on it).
func (h *handler) getMessages(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
	if !h.vhostExists(vhost) || !h.vhostAccess(u, vhost) {
		notAuthorised(w, "Access refused.")
		return
	}
	obj, ok := readObject(w, r, maxBodyBytes, "count", "ackmode", "encoding")
	if !ok {
		return
	}
	count, ok := jsonInt(obj["count"])
	if !ok {
		badRequest(w, []any{"not_integer", rawValue(obj["count"])})
		return
	}
	enc, _ := jsonString(obj["encoding"])
	if enc != "auto" && enc != "base64" {
		badRequest(w, "Unsupported encoding. Please use auto or base64.")
		return
	}
	truncate := -1
	if raw, ok := obj["truncate"]; ok {
		if truncate, ok = jsonInt(raw); !ok {
			badRequest(w, []any{"not_integer", rawValue(raw)})
			return
		}
	}
	mode, _ := jsonString(obj["ackmode"])
	if !AckMode(mode).valid() {
		writeEmpty500(w)
		return
	}
	msgs, err := h.b.GetMessages(u.name, vhost, name, count, AckMode(mode))
	if err != nil {
		writeGetError(w, err)
		return
	}
	out := make([]gotJSON, 0, len(msgs))
	for i := range msgs {
		out = append(out, gotMessageJSON(&msgs[i], enc, truncate))
	}
	writeJSON(w, http.StatusOK, out)
}

// writeGetError answers for a basic.get that failed: the AMQP error's
// full text with 401 not_authorised (403) or 404 not_found, else 400 with
// the code in front ("405 RESOURCE_LOCKED - …").
func writeGetError(w http.ResponseWriter, err error) {
	var e *amqp.Error
	switch {
	case errors.Is(err, ErrNotFound):
		notAuthorised(w, "Access refused.")
	case !errors.As(err, &e):
		writeError(w, http.StatusInternalServerError, "internal_server_error", err.Error())
	case e.Code == amqp.AccessRefused:
		notAuthorised(w, e.Text)
	case e.Code == amqp.NotFound:
		writeError(w, http.StatusNotFound, "not_found", e.Text)
	default:
		badRequest(w, strconv.Itoa(int(e.Code))+" "+e.Text)
	}
}

// gotMessageJSON renders m as rabbit_mgmt_wm_queue_get does: the payload
// cut to truncate bytes (negative: whole), then given as a string when
// enc is "auto" and it is valid UTF-8, else in base64; payload_bytes is
// the whole payload's size.
func gotMessageJSON(m *Message, enc string, truncate int) gotJSON {
	body := m.Body
	if truncate >= 0 && len(body) > truncate {
		body = body[:truncate]
	}
	j := gotJSON{
		PayloadBytes: len(m.Body), Redelivered: m.Redelivered, Exchange: m.Exchange,
		RoutingKey: m.RoutingKey, MessageCount: m.MessageCount, Properties: propertiesJSON(&m.Properties),
	}
	if enc == "auto" && utf8.Valid(body) {
		j.Payload, j.PayloadEncoding = string(body), "string"
	} else {
		j.Payload, j.PayloadEncoding = base64.StdEncoding.EncodeToString(body), "base64"
	}
	return j
}
