package mgmt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// publishExchange serves POST /api/exchanges/{vhost}/{name}/publish with
// {"properties":{…},"routing_key":…,"payload":…,"payload_encoding":
// "string"|"base64"}, as rabbit_mgmt_wm_exchange_publish does: a
// basic.publish as the user (write permission on the exchange), routed as
// any client's, answered {"routed":true|false}. Refusals: 401 "Access
// refused." for an unknown vhost or one the user has no permission in; 400
// for a bad body; 400 "<code> <AMQP text>" for an error of the publish
// itself ("404 NOT_FOUND - no exchange 'x' in vhost '/'", "403
// ACCESS_REFUSED - …").
func (h *handler) publishExchange(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
	if name == defaultExchangeURLName {
		name = ""
	}
	if !h.vhostExists(vhost) || !h.vhostAccess(u, vhost) {
		notAuthorised(w, "Access refused.")
		return
	}
	obj, ok := readObject(w, r, maxMessageBodyBytes, "properties", "routing_key", "payload", "payload_encoding")
	if !ok {
		return
	}
	payload, ok := jsonString(obj["payload"])
	if !ok {
		badRequest(w, "payload_not_string")
		return
	}
	var body []byte
	switch enc, _ := jsonString(obj["payload_encoding"]); enc {
	case "string":
		body = []byte(payload)
	case "base64":
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			badRequest(w, []any{"not_base64", payload})
			return
		}
		body = b
	default:
		badRequest(w, []any{"unsupported_encoding", rawValue(obj["payload_encoding"])})
		return
	}
	if p := bytes.TrimSpace(obj["properties"]); len(p) == 0 || p[0] != '{' {
		writeEmpty500(w) // RabbitMQ crashes on properties that are not an object
		return
	}
	props, reason := propertiesFromJSON(obj["properties"])
	if reason != nil {
		badRequest(w, reason)
		return
	}
	key, _ := jsonString(obj["routing_key"])
	routed, err := h.b.Publish(u.name, vhost, name, key, props, body)
	var e *amqp.Error
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]bool{"routed": routed})
	case errors.Is(err, ErrNotFound):
		notAuthorised(w, "Access refused.")
	case errors.As(err, &e):
		badRequest(w, strconv.Itoa(int(e.Code))+" "+e.Text)
	default:
		writeError(w, http.StatusInternalServerError, "internal_server_error", err.Error())
	}
}

// rawValue is a JSON value as it was sent, for an error's reason.
func rawValue(raw json.RawMessage) any {
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}

// The basic properties by their JSON names, as
// rabbit_mgmt_format:to_basic_properties/1 reads them.
var (
	stringProps = []struct {
		name string
		set  func(p *amqp.Properties, s string)
	}{
		{"content_type", func(p *amqp.Properties, s string) { p.ContentType = s }},
		{"content_encoding", func(p *amqp.Properties, s string) { p.ContentEncoding = s }},
		{"correlation_id", func(p *amqp.Properties, s string) { p.CorrelationID = s }},
		{"reply_to", func(p *amqp.Properties, s string) { p.ReplyTo = s }},
		{"expiration", func(p *amqp.Properties, s string) { p.Expiration = s }},
		{"message_id", func(p *amqp.Properties, s string) { p.MessageID = s }},
		{"type", func(p *amqp.Properties, s string) { p.Type = s }},
		{"user_id", func(p *amqp.Properties, s string) { p.UserID = s }},
		{"app_id", func(p *amqp.Properties, s string) { p.AppID = s }},
		{"cluster_id", func(p *amqp.Properties, s string) { p.ClusterID = s }},
	}
	stringFlags = map[string]uint16{
		"content_type": amqp.FlagContentType, "content_encoding": amqp.FlagContentEncoding,
		"correlation_id": amqp.FlagCorrelationID, "reply_to": amqp.FlagReplyTo,
		"expiration": amqp.FlagExpiration, "message_id": amqp.FlagMessageID, "type": amqp.FlagType,
		"user_id": amqp.FlagUserID, "app_id": amqp.FlagAppID, "cluster_id": amqp.FlagClusterID,
	}
)

// propertiesFromJSON reads the "properties" of a publish. Unknown keys are
// ignored; a string property that is not a string is ["not_string",key],
// an integer one that is not an integer ["not_int",key]; headers that are
// not an object are an empty table, as RabbitMQ takes them. A non-nil
// reason is the 400's.
func propertiesFromJSON(raw json.RawMessage) (amqp.Properties, any) {
	var p amqp.Properties
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return p, "not_json"
	}
	for _, sp := range stringProps {
		v, ok := obj[sp.name]
		if !ok {
			continue
		}
		s, ok := jsonString(v)
		if !ok {
			return p, []any{"not_string", sp.name}
		}
		sp.set(&p, s)
		p.Flags |= stringFlags[sp.name]
	}
	for _, ip := range []struct {
		name string
		max  int64
		flag uint16
	}{{"delivery_mode", 255, amqp.FlagDeliveryMode}, {"priority", 255, amqp.FlagPriority}, {"timestamp", 1<<63 - 1, amqp.FlagTimestamp}} {
		v, ok := obj[ip.name]
		if !ok {
			continue
		}
		var n int64
		if err := json.Unmarshal(v, &n); err != nil || n < 0 || n > ip.max {
			return p, []any{"not_int", ip.name}
		}
		switch ip.name {
		case "delivery_mode":
			p.DeliveryMode = uint8(n)
		case "priority":
			p.Priority = uint8(n)
		case "timestamp":
			p.Timestamp = time.Unix(n, 0)
		}
		p.Flags |= ip.flag
	}
	if v, ok := obj["headers"]; ok {
		t, err := jsonTableOf(v)
		if err != nil {
			t = amqp.Table{}
		}
		p.Headers, p.Flags = t, p.Flags|amqp.FlagHeaders
	}
	return p, nil
}

// propertiesJSON renders a message's properties as
// rabbit_mgmt_format:basic_properties/1 does: the properties present, by
// their JSON names, headers as a table, timestamp in seconds; no property
// at all is an empty list, as RabbitMQ 3.10.8 shows it ([]).
func propertiesJSON(p *amqp.Properties) any {
	m := map[string]any{}
	str := func(name string, flag uint16, v string) {
		if p.Flags&flag != 0 || v != "" {
			m[name] = utf8Safe(v)
		}
	}
	str("content_type", amqp.FlagContentType, p.ContentType)
	str("content_encoding", amqp.FlagContentEncoding, p.ContentEncoding)
	str("correlation_id", amqp.FlagCorrelationID, p.CorrelationID)
	str("reply_to", amqp.FlagReplyTo, p.ReplyTo)
	str("expiration", amqp.FlagExpiration, p.Expiration)
	str("message_id", amqp.FlagMessageID, p.MessageID)
	str("type", amqp.FlagType, p.Type)
	str("user_id", amqp.FlagUserID, p.UserID)
	str("app_id", amqp.FlagAppID, p.AppID)
	str("cluster_id", amqp.FlagClusterID, p.ClusterID)
	if p.Flags&amqp.FlagHeaders != 0 || p.Headers != nil {
		m["headers"] = jsonTable(tableMap(p.Headers))
	}
	if p.Flags&amqp.FlagDeliveryMode != 0 || p.DeliveryMode != 0 {
		m["delivery_mode"] = p.DeliveryMode
	}
	if p.Flags&amqp.FlagPriority != 0 || p.Priority != 0 {
		m["priority"] = p.Priority
	}
	if p.Flags&amqp.FlagTimestamp != 0 || !p.Timestamp.IsZero() {
		m["timestamp"] = p.Timestamp.Unix()
	}
	if len(m) == 0 {
		return []any{}
	}
	return m
}
