package mgmt_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

// queueBroker has queues in vhosts "/" and "v 2".
func queueBroker() *mgmttest.Broker {
	b := mgmttest.New()
	b.AddExchange(mgmt.Exchange{Name: "", Vhost: "v 2", Type: "direct", Durable: true})
	b.AddExchange(mgmt.Exchange{Name: "logs", Vhost: "v 2", Type: "topic", AutoDelete: true, Internal: true,
		Arguments: map[string]any{"alternate-exchange": "ae"}})
	b.AddQueue(mgmt.Queue{Name: "work", Vhost: "/", Durable: true, MessagesReady: 3, MessagesUnacknowledged: 2, MessagesPersistent: 4, MessageBytesPersistent: 40,
		MessageBytes: 50, Consumers: 1, Arguments: map[string]any{"x-message-ttl": int32(100)}})
	b.AddQueue(mgmt.Queue{Name: "amq.gen-abc", Vhost: "/", Exclusive: true, AutoDelete: true,
		Owner: "127.0.0.1:1 -> 127.0.0.1:5672", ExclusiveConsumerTag: "ctag"})
	b.AddQueue(mgmt.Queue{Name: "a/b c", Vhost: "v 2", MessagesReady: 1})
	return b
}

func TestQueues(t *testing.T) {
	b := queueBroker()
	srv := server(t, b)
	names := func(path string) []string {
		t.Helper()
		r := get(t, srv, path)
		wantStatus(t, r, http.StatusOK)
		var qs []struct{ Name, Vhost string }
		decode(t, r, &qs)
		out := []string{}
		for _, q := range qs {
			out = append(out, q.Vhost+"|"+q.Name)
		}
		return out
	}
	all := []string{"/|amq.gen-abc", "/|work", "v 2|a/b c"}
	for path, want := range map[string][]string{
		"/api/queues":          all,
		"/api/queues/":         all,
		"/api/queues/%2F":      {"/|amq.gen-abc", "/|work"},
		"/api/queues/v%202":    {"v 2|a/b c"},
		"/api/queues/amq.gen-": nil, // no such vhost
	} {
		if want == nil {
			wantError(t, get(t, srv, path), http.StatusNotFound, "Object Not Found", "Not Found")
			continue
		}
		if got := names(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}

	var q map[string]any
	decode(t, get(t, srv, "/api/queues/%2F/work"), &q)
	want := map[string]any{
		"name": "work", "vhost": "/", "durable": true, "auto_delete": false, "exclusive": false,
		"arguments": map[string]any{"x-message-ttl": 100.0}, "messages": 5.0, "messages_ready": 3.0,
		"messages_unacknowledged": 2.0, "message_bytes": 50.0, "consumers": 1.0,
		"messages_persistent": 4.0, "message_bytes_persistent": 40.0,
		"messages_paged_out": 0.0, "message_bytes_paged_out": 0.0, "messages_ram": 5.0, "message_bytes_ram": 50.0,
		"exclusive_consumer_tag": nil, "policy": nil, "effective_policy_definition": map[string]any{}, "operator_policy": nil, "state": "running", "type": "classic",
	}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("queue work = %v\nwant %v", q, want)
	}

	decode(t, get(t, srv, "/api/queues/%2F/amq.gen-abc"), &q)
	if q["exclusive"] != true || q["exclusive_consumer_tag"] != "ctag" ||
		!reflect.DeepEqual(q["owner_pid_details"], map[string]any{"name": "127.0.0.1:1 -> 127.0.0.1:5672"}) {
		t.Errorf("exclusive queue = %v", q)
	}

	decode(t, get(t, srv, "/api/queues/v%202/a%2Fb%20c"), &q)
	if q["name"] != "a/b c" {
		t.Errorf("queue with slash = %v", q)
	}
	wantError(t, get(t, srv, "/api/queues/%2F/missing"), http.StatusNotFound, "Object Not Found", "Not Found")
	wantError(t, get(t, srv, "/api/queues/v%202/work"), http.StatusNotFound, "Object Not Found", "Not Found")
}

func TestExchanges(t *testing.T) {
	srv := server(t, queueBroker())
	r := get(t, srv, "/api/exchanges/v%202")
	var xs []map[string]any
	decode(t, r, &xs)
	want := []map[string]any{
		{"name": "", "vhost": "v 2", "type": "direct", "durable": true, "auto_delete": false, "internal": false,
			"arguments": map[string]any{}, "user_who_performed_action": "rmq-internal"},
		{"name": "logs", "vhost": "v 2", "type": "topic", "durable": false, "auto_delete": true, "internal": true,
			"arguments": map[string]any{"alternate-exchange": "ae"}, "user_who_performed_action": "rmq-internal"},
	}
	if !reflect.DeepEqual(xs, want) {
		t.Errorf("exchanges of v 2 = %v\nwant %v", xs, want)
	}
	decode(t, get(t, srv, "/api/exchanges"), &xs)
	if len(xs) != 8 || xs[0]["name"] != "" || xs[1]["name"] != "amq.direct" || xs[6]["vhost"] != "v 2" {
		t.Errorf("all exchanges = %v", xs)
	}
	var x map[string]any
	decode(t, get(t, srv, "/api/exchanges/%2F/amq.default"), &x)
	if x["name"] != "" || x["type"] != "direct" {
		t.Errorf("amq.default = %v", x)
	}
	decode(t, get(t, srv, "/api/exchanges/%2F/amq.topic"), &x)
	if x["name"] != "amq.topic" || x["type"] != "topic" {
		t.Errorf("amq.topic = %v", x)
	}
	wantError(t, get(t, srv, "/api/exchanges/nope"), http.StatusNotFound, "Object Not Found", "Not Found")
	wantError(t, get(t, srv, "/api/exchanges/%2F/nope"), http.StatusNotFound, "Object Not Found", "Not Found")

	var vhosts []map[string]any
	decode(t, get(t, srv, "/api/vhosts"), &vhosts)
	if len(vhosts) != 2 || vhosts[0]["name"] != "/" || vhosts[0]["messages"] != 5.0 ||
		vhosts[1]["name"] != "v 2" || vhosts[1]["messages_ready"] != 1.0 {
		t.Errorf("vhosts = %v", vhosts)
	}
}
