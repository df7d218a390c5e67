package mgmt_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

// bindingBroker has queues q1 and q2 in "/", bindings from amq.direct and
// amq.topic (one to exchange fan), and queue q3 in vhost "v" where only
// guest has a permission.
func bindingBroker() *mgmttest.Broker {
	b := mgmttest.New()
	b.AddExchange(mgmt.Exchange{Name: "fan", Vhost: "/", Type: "fanout"})
	b.AddQueue(mgmt.Queue{Name: "q1", Vhost: "/"})
	b.AddQueue(mgmt.Queue{Name: "q2", Vhost: "/"})
	b.AddQueue(mgmt.Queue{Name: "q3", Vhost: "v"})
	b.AddBinding(mgmt.Binding{Vhost: "/", Source: "amq.direct", Destination: "q1", DestinationType: "queue", RoutingKey: "k", Arguments: map[string]any{"x": int64(1)}})
	b.AddBinding(mgmt.Binding{Vhost: "/", Source: "amq.topic", Destination: "fan", DestinationType: "exchange", RoutingKey: "a.#"})
	b.AddBinding(mgmt.Binding{Vhost: "/", Source: "fan", Destination: "q2", DestinationType: "queue"})
	b.AddUser("app", "app", mgmt.TagManagement)
	_ = b.SetPermission(mgmt.Permission{User: "app", Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"})
	_, _ = b.PutVHost("v")
	_ = b.SetPermission(mgmt.Permission{User: "guest", Vhost: "v", Configure: ".*", Write: ".*", Read: ".*"})
	return b
}

// bindingKeys lists "source>destination:key" of a bindings answer.
func bindingKeys(t *testing.T, r response) []string {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var bs []struct {
		Source, Vhost, Destination string
		DestinationType            string `json:"destination_type"`
		RoutingKey                 string `json:"routing_key"`
	}
	decode(t, r, &bs)
	out := []string{}
	for _, b := range bs {
		out = append(out, b.Vhost+"|"+b.Source+">"+b.DestinationType[:1]+":"+b.Destination+":"+b.RoutingKey)
	}
	return out
}

// The listings include the default-exchange binding of each queue, first,
// as RabbitMQ does, and RabbitMQ's fields.
func TestBindings(t *testing.T) {
	srv := server(t, bindingBroker())
	for path, want := range map[string][]string{
		"/api/bindings": {"/|>q:q1:q1", "/|>q:q2:q2", "v|>q:q3:q3",
			"/|amq.direct>q:q1:k", "/|amq.topic>e:fan:a.#", "/|fan>q:q2:"},
		"/api/bindings/%2F":                                  {"/|>q:q1:q1", "/|>q:q2:q2", "/|amq.direct>q:q1:k", "/|amq.topic>e:fan:a.#", "/|fan>q:q2:"},
		"/api/queues/%2F/q1/bindings":                        {"/|>q:q1:q1", "/|amq.direct>q:q1:k"},
		"/api/queues/%2F/nope/bindings":                      {"/|>q:nope:nope"},
		"/api/exchanges/%2F/amq.default/bindings/source":     {"/|>q:q1:q1", "/|>q:q2:q2"},
		"/api/exchanges/%2F/fan/bindings/source":             {"/|fan>q:q2:"},
		"/api/exchanges/%2F/fan/bindings/destination":        {"/|amq.topic>e:fan:a.#"},
		"/api/exchanges/%2F/nope/bindings/source":            {},
		"/api/exchanges/%2F/amq.direct/bindings/destination": {},
	} {
		if got := bindingKeys(t, get(t, srv, path)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", path, got, want)
		}
	}
	wantError(t, get(t, srv, "/api/bindings/nov"), 404, "Object Not Found", "Not Found")
	// A management user sees the vhosts it has a permission in, and is
	// refused the others by name.
	if got := bindingKeys(t, do(t, srv, http.MethodGet, "/api/bindings", "app", "app", nil, "")); len(got) != 5 {
		t.Errorf("app's bindings: %q", got)
	}
	for _, path := range []string{"/api/bindings/v", "/api/queues/v/q3/bindings", "/api/exchanges/v/amq.direct/bindings/source",
		"/api/exchanges/v/amq.direct/bindings/destination", "/api/vhosts/v/channels"} {
		wantError(t, do(t, srv, http.MethodGet, path, "app", "app", nil, ""), 401, "not_authorised", "User not authorised to access virtual host")
	}
	if got := bindingKeys(t, do(t, srv, http.MethodGet, "/api/queues/nov/q/bindings", "app", "app", nil, "")); len(got) != 0 {
		t.Errorf("bindings of a queue in no vhost: %q", got)
	}

	var bs []map[string]any
	decode(t, get(t, srv, "/api/queues/%2F/q1/bindings"), &bs)
	if !reflect.DeepEqual(bs[0], map[string]any{"source": "", "vhost": "/", "destination": "q1", "destination_type": "queue",
		"routing_key": "q1", "arguments": map[string]any{}, "properties_key": "q1"}) {
		t.Errorf("default binding: %v", bs[0])
	}
	if bs[1]["properties_key"] != "k~gnunXA" || !reflect.DeepEqual(bs[1]["arguments"], map[string]any{"x": 1.0}) {
		t.Errorf("binding with arguments: %v", bs[1])
	}
	decode(t, get(t, srv, "/api/exchanges/%2F/fan/bindings/source"), &bs)
	if bs[0]["properties_key"] != "~" {
		t.Errorf("empty key: %v", bs[0])
	}
	decode(t, get(t, srv, "/api/exchanges/%2F/fan/bindings/destination"), &bs)
	if bs[0]["properties_key"] != "a.%23" {
		t.Errorf("key a.#: %v", bs[0])
	}
}
