package mgmt_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// A publish is routed (or not) and the message carries the payload,
// decoded, and the properties given; "amq.default" is the default
// exchange.
func TestPublish(t *testing.T) {
	b := actionBroker()
	b.AddExchange(mgmt.Exchange{Name: "fan", Vhost: "/", Type: "fanout"})
	b.AddBinding(mgmt.Binding{Vhost: "/", Source: "fan", Destination: "idle", DestinationType: "queue"})
	srv := server(t, b)
	pub := func(path, user, body string) response {
		t.Helper()
		return do(t, srv, http.MethodPost, path, user, user, nil, body)
	}
	routed := func(r response) bool {
		t.Helper()
		wantStatus(t, r, http.StatusOK)
		var out map[string]any
		decode(t, r, &out)
		if len(out) != 1 {
			t.Fatalf("answer %v", out)
		}
		return out["routed"] == true
	}
	if !routed(pub("/api/exchanges/%2F/amq.default/publish", "guest",
		`{"properties":{"delivery_mode":2,"content_type":"text/plain","headers":{"n":1,"s":"x"},"timestamp":1700000000,"bogus":1},"routing_key":"idle","payload":"aGk=","payload_encoding":"base64"}`)) {
		t.Fatal("publish to idle not routed")
	}
	if routed(pub("/api/exchanges/%2F/amq.default/publish", "guest", `{"properties":{},"routing_key":"nope","payload":"x","payload_encoding":"string"}`)) {
		t.Fatal("publish to no queue routed")
	}
	if !routed(pub("/api/exchanges/%2F/fan/publish", "guest", `{"properties":{},"routing_key":"any","payload":"f","payload_encoding":"string"}`)) {
		t.Fatal("publish through the fanout not routed")
	}
	ms := b.Messages("/", "idle")
	want := amqp.Properties{
		Flags:       amqp.FlagContentType | amqp.FlagHeaders | amqp.FlagDeliveryMode | amqp.FlagTimestamp,
		ContentType: "text/plain", DeliveryMode: 2, Timestamp: time.Unix(1700000000, 0),
		Headers: amqp.Table{{Name: "n", Value: int64(1)}, {Name: "s", Value: "x"}},
	}
	if len(ms) != 2 || string(ms[0].Body) != "hi" || !reflect.DeepEqual(ms[0].Properties, want) ||
		string(ms[1].Body) != "f" || ms[1].Exchange != "fan" || ms[1].RoutingKey != "any" {
		t.Fatalf("messages in idle: %+v", ms)
	}
}

// Bad publishes get RabbitMQ 3.10.8's answers: body errors and the
// publish's own AMQP errors are 400, a vhost without access 401.
func TestPublishRefused(t *testing.T) {
	srv := server(t, actionBroker())
	const path = "/api/exchanges/%2F/amq.default/publish"
	for _, c := range []struct {
		name, path, user, body string
		status                 int
		reason                 any
	}{
		{"not json", path, "guest", `nope`, 400, "not_json"},
		{"missing keys", path, "guest", `{"payload":"x"}`, 400, "[{key_missing,payload_encoding},{key_missing,properties},{key_missing,routing_key}]"},
		{"bad encoding", path, "guest", `{"properties":{},"routing_key":"q","payload":"x","payload_encoding":"hex"}`, 400, []any{"unsupported_encoding", "hex"}},
		{"not base64", path, "guest", `{"properties":{},"routing_key":"q","payload":"!!","payload_encoding":"base64"}`, 400, []any{"not_base64", "!!"}},
		{"payload not a string", path, "guest", `{"properties":{},"routing_key":"q","payload":1,"payload_encoding":"string"}`, 400, "payload_not_string"},
		{"bad delivery_mode", path, "guest", `{"properties":{"delivery_mode":"2"},"routing_key":"q","payload":"x","payload_encoding":"string"}`, 400, []any{"not_int", "delivery_mode"}},
		{"bad content_type", path, "guest", `{"properties":{"content_type":1},"routing_key":"q","payload":"x","payload_encoding":"string"}`, 400, []any{"not_string", "content_type"}},
		{"no exchange", "/api/exchanges/%2F/nope/publish", "guest", `{"properties":{},"routing_key":"q","payload":"x","payload_encoding":"string"}`, 400,
			"404 NOT_FOUND - no exchange 'nope' in vhost '/'"},
		{"no write permission", path, "app", `{"properties":{},"routing_key":"q","payload":"x","payload_encoding":"string"}`, 400,
			"403 ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user 'app'"},
		{"no vhost", "/api/exchanges/nov/amq.default/publish", "guest", `{}`, 401, "Access refused."},
		{"administrator without permission", path, "adm", `{}`, 401, "Access refused."},
	} {
		r := do(t, srv, http.MethodPost, c.path, c.user, c.user, nil, c.body)
		var e struct {
			Error  string
			Reason any
		}
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, r.status, c.status, r.body)
			continue
		}
		decode(t, r, &e)
		if !reflect.DeepEqual(e.Reason, c.reason) {
			t.Errorf("%s: reason %#v, want %#v", c.name, e.Reason, c.reason)
		}
	}
	r := do(t, srv, http.MethodPost, path, "guest", "guest", nil, `{"properties":[],"routing_key":"q","payload":"x","payload_encoding":"string"}`)
	if r.status != http.StatusInternalServerError || r.body != "" {
		t.Fatalf("properties not an object: %d %q", r.status, r.body)
	}
}

// PUT and DELETE on an exchange declare and delete it as the user.
func TestPutDeleteExchange(t *testing.T) {
	b := actionBroker()
	srv := server(t, b)
	req := func(method, path, user, body string) response {
		t.Helper()
		return do(t, srv, method, path, user, user, nil, body)
	}
	wantStatus(t, req(http.MethodPut, "/api/exchanges/%2F/x", "guest", `{"type":"fanout","durable":true}`), http.StatusCreated)
	wantStatus(t, req(http.MethodPut, "/api/exchanges/%2F/x", "guest", `{"type":"fanout","durable":true}`), http.StatusNoContent)
	wantError(t, req(http.MethodPut, "/api/exchanges/%2F/x", "guest", `{"type":"direct"}`), 400, "bad_request",
		"inequivalent arg 'type' for exchange 'x' in vhost '/': received 'direct' but current is 'fanout'")
	wantStatus(t, req(http.MethodPut, "/api/exchanges/%2F/d", "guest", `{}`), http.StatusCreated)
	var x map[string]any
	decode(t, get(t, srv, "/api/exchanges/%2F/d"), &x)
	if x["type"] != "direct" || x["durable"] != false {
		t.Fatalf("exchange declared with {}: %v", x)
	}
	wantError(t, req(http.MethodPut, "/api/exchanges/%2F/amq.default", "guest", `{}`), 401, "not_authorised", "Access refused.")
	wantError(t, req(http.MethodPut, "/api/exchanges/nov/x", "guest", `{}`), 404, "not_found", "vhost_not_found")
	wantError(t, req(http.MethodPut, "/api/exchanges/%2F/y", "app", `{}`), 401, "not_authorised", "Access refused.")

	wantError(t, req(http.MethodDelete, "/api/exchanges/%2F/amq.direct", "guest", ""), 401, "not_authorised", "Access refused.")
	wantError(t, req(http.MethodDelete, "/api/exchanges/%2F/nope", "guest", ""), 404, "Object Not Found", "Not Found")
	wantError(t, req(http.MethodDelete, "/api/exchanges/nov/x", "guest", ""), 404, "Object Not Found", "Not Found")
	b.AddBinding(mgmt.Binding{Vhost: "/", Source: "x", Destination: "idle", DestinationType: "queue"})
	wantError(t, req(http.MethodDelete, "/api/exchanges/%2F/x?if-unused=true", "guest", ""), 400, "bad_request", "exchange 'x' in vhost '/' in use")
	wantStatus(t, req(http.MethodDelete, "/api/exchanges/%2F/x", "guest", ""), http.StatusNoContent)
	wantError(t, get(t, srv, "/api/exchanges/%2F/x"), 404, "Object Not Found", "Not Found")
}
