package mgmt_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

// actionBroker has queue "work" in "/" holding m1, m2 (persistent, with a
// header) and a body that is not UTF-8, an empty queue "idle", a queue
// "busy" with a consumer, vhost "v" where guest has no permission, and
// users "app" (management; configure ^cfg, write ^w, read ^r in "/") and
// "adm" (administrator, no permission at all).
func actionBroker() *mgmttest.Broker {
	b := mgmttest.New()
	b.AddExchange(mgmt.Exchange{Name: "", Vhost: "v", Type: "direct", Durable: true})
	b.AddQueue(mgmt.Queue{Name: "work", Vhost: "/", Durable: true})
	b.AddQueue(mgmt.Queue{Name: "idle", Vhost: "/"})
	b.AddQueue(mgmt.Queue{Name: "busy", Vhost: "/", Consumers: 1})
	b.AddQueue(mgmt.Queue{Name: "rq", Vhost: "/"})
	b.AddMessage("/", "work", mgmt.Message{RoutingKey: "work", Body: []byte("m1")})
	b.AddMessage("/", "work", mgmt.Message{RoutingKey: "work", Body: []byte("m2"),
		Properties: amqp.Properties{DeliveryMode: 2, Headers: amqp.Table{{Name: "h", Value: "v"}}, Timestamp: time.Unix(1700000000, 0)}})
	b.AddMessage("/", "work", mgmt.Message{RoutingKey: "work", Body: []byte{0xff, 0xfe}})
	b.AddUser("app", "app", mgmt.TagManagement)
	b.AddUser("adm", "adm", mgmt.TagAdministrator)
	if err := b.SetPermission(mgmt.Permission{User: "app", Vhost: "/", Configure: "^cfg", Write: "^w", Read: "^r"}); err != nil {
		panic(err)
	}
	return b
}

// gotMessage is one element of the answer to POST .../get.
type gotMessage struct {
	PayloadBytes    int    `json:"payload_bytes"`
	Redelivered     bool   `json:"redelivered"`
	Exchange        string `json:"exchange"`
	RoutingKey      string `json:"routing_key"`
	MessageCount    int    `json:"message_count"`
	Properties      any    `json:"properties"`
	Payload         string `json:"payload"`
	PayloadEncoding string `json:"payload_encoding"`
}

// getBody is the body of a get of n messages with mode and encoding.
func getBody(n, mode, enc string) string {
	return `{"count":` + n + `,"ackmode":"` + mode + `","encoding":"` + enc + `"}`
}

// Each ack mode settles the messages as basic.get would: the requeueing
// modes put them back marked redelivered, the others remove them;
// message_count is what remains ready; "auto" gives a string for UTF-8 and
// base64 otherwise; properties are [] when there are none.
func TestGetMessages(t *testing.T) {
	b := actionBroker()
	srv := server(t, b)
	get := func(body string) []gotMessage {
		t.Helper()
		r := do(t, srv, http.MethodPost, "/api/queues/%2F/work/get", "guest", "guest", nil, body)
		wantStatus(t, r, http.StatusOK)
		var out []gotMessage
		decode(t, r, &out)
		return out
	}
	got := get(getBody("5", "ack_requeue_true", "auto"))
	want := []gotMessage{
		{PayloadBytes: 2, RoutingKey: "work", MessageCount: 2, Properties: []any{}, Payload: "m1", PayloadEncoding: "string"},
		{PayloadBytes: 2, RoutingKey: "work", MessageCount: 1, Properties: map[string]any{
			"delivery_mode": 2.0, "headers": map[string]any{"h": "v"}, "timestamp": 1700000000.0}, Payload: "m2", PayloadEncoding: "string"},
		{PayloadBytes: 2, RoutingKey: "work", MessageCount: 0, Properties: []any{}, Payload: "//4=", PayloadEncoding: "base64"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ack_requeue_true:\n got %+v\nwant %+v", got, want)
	}
	if n := len(b.Messages("/", "work")); n != 3 {
		t.Fatalf("after ack_requeue_true: %d messages, want 3", n)
	}

	got = get(`{"count":1,"ackmode":"reject_requeue_true","encoding":"base64","truncate":1}`)
	if len(got) != 1 || !got[0].Redelivered || got[0].Payload != "bQ==" || got[0].PayloadBytes != 2 || got[0].PayloadEncoding != "base64" {
		t.Fatalf("reject_requeue_true, base64, truncate 1: %+v", got)
	}
	got = get(getBody("1", "ack_requeue_false", "auto"))
	if len(got) != 1 || got[0].Payload != "m1" || got[0].MessageCount != 2 {
		t.Fatalf("ack_requeue_false: %+v", got)
	}
	got = get(getBody(`"1"`, "reject_requeue_false", "auto"))
	if len(got) != 1 || got[0].Payload != "m2" || got[0].MessageCount != 1 {
		t.Fatalf("reject_requeue_false with count as a string: %+v", got)
	}
	if ms := b.Messages("/", "work"); len(ms) != 1 || string(ms[0].Body) != "\xff\xfe" {
		t.Fatalf("left: %+v", ms)
	}
	if got = get(getBody("0", "ack_requeue_false", "auto")); len(got) != 0 {
		t.Fatalf("count 0: %+v", got)
	}
	if got = get(getBody("-1", "ack_requeue_false", "auto")); len(got) != 1 {
		t.Fatalf("count -1 takes every message: %+v", got)
	}
	if got = get(getBody("3", "ack_requeue_false", "auto")); got == nil || len(got) != 0 {
		t.Fatalf("empty queue: %+v, want []", got)
	}
}

// Bad bodies and refusals get RabbitMQ 3.10.8's answers.
func TestGetMessagesRefused(t *testing.T) {
	srv := server(t, actionBroker())
	const ok = `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`
	for _, c := range []struct {
		name, path, user, body string
		status                 int
		err                    string
		reason                 any
	}{
		{"not json", "/api/queues/%2F/work/get", "guest", `{bad`, 400, "bad_request", "not_json"},
		{"an array", "/api/queues/%2F/work/get", "guest", `[1]`, 400, "bad_request", "not_json"},
		{"no keys", "/api/queues/%2F/work/get", "guest", ``, 400, "bad_request", "[{key_missing,ackmode},{key_missing,count},{key_missing,encoding}]"},
		{"no encoding", "/api/queues/%2F/work/get", "guest", `{"count":1,"ackmode":"ack_requeue_true"}`, 400, "bad_request", "[{key_missing,encoding}]"},
		{"bad encoding", "/api/queues/%2F/work/get", "guest", getBody("1", "ack_requeue_true", "utf8"), 400, "bad_request", "Unsupported encoding. Please use auto or base64."},
		{"bad truncate", "/api/queues/%2F/work/get", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto","truncate":"x"}`, 400, "bad_request", []any{"not_integer", "x"}},
		{"no queue", "/api/queues/%2F/nope/get", "guest", ok, 404, "not_found", "NOT_FOUND - no queue 'nope' in vhost '/'"},
		{"no vhost", "/api/queues/nov/work/get", "guest", ok, 401, "not_authorised", "Access refused."},
		{"no permission in the vhost", "/api/queues/v/work/get", "guest", ok, 401, "not_authorised", "Access refused."},
		{"administrator without permission", "/api/queues/%2F/work/get", "adm", ok, 401, "not_authorised", "Access refused."},
		{"no read permission", "/api/queues/%2F/work/get", "app", ok, 401, "not_authorised", "ACCESS_REFUSED - access to queue 'work' in vhost '/' refused for user 'app'"},
	} {
		r := do(t, srv, http.MethodPost, c.path, c.user, c.user, nil, c.body) // each password is the user's name
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, r.status, c.status, r.body)
			continue
		}
		var e struct {
			Error  string
			Reason any
		}
		decode(t, r, &e)
		if e.Error != c.err || !reflect.DeepEqual(e.Reason, c.reason) {
			t.Errorf("%s: %+v, want %s %v", c.name, e, c.err, c.reason)
		}
	}
	// An unknown ackmode crashes RabbitMQ's resource: 500, no body.
	r := do(t, srv, http.MethodPost, "/api/queues/%2F/work/get", "guest", "guest", nil, getBody("1", "bogus", "auto"))
	if r.status != http.StatusInternalServerError || r.body != "" {
		t.Fatalf("bad ackmode: %d %q", r.status, r.body)
	}
	// app may read queues named ^r.
	wantStatus(t, do(t, srv, http.MethodPost, "/api/queues/%2F/rq/get", "app", "app", nil, ok), http.StatusOK)
}

// Purge and delete: 204, 404 for an unknown vhost or queue, 401 "Access
// refused." without the permission, 400 when if-empty or if-unused fails.
func TestPurgeAndDeleteQueue(t *testing.T) {
	b := actionBroker()
	srv := server(t, b)
	del := func(path, user string) response {
		t.Helper()
		return do(t, srv, http.MethodDelete, path, user, user, nil, "")
	}
	const guest = "guest"
	wantError(t, del("/api/queues/%2F/work?if-empty=true", guest), 400, "bad_request", "queue 'work' in vhost '/' not empty")
	wantError(t, del("/api/queues/%2F/busy?if-unused=true", guest), 400, "bad_request", "queue 'busy' in vhost '/' in use")
	wantError(t, del("/api/queues/%2F/work/contents", "app"), 401, "not_authorised", "Access refused.")
	wantError(t, del("/api/queues/%2F/work", "app"), 401, "not_authorised", "Access refused.")
	wantError(t, del("/api/queues/%2F/work", "adm"), 401, "not_authorised", "Access refused.")
	wantError(t, del("/api/queues/%2F/nope/contents", guest), 404, "Object Not Found", "Not Found")
	wantError(t, del("/api/queues/nov/work/contents", guest), 404, "Object Not Found", "Not Found")
	wantError(t, del("/api/queues/%2F/nope", guest), 404, "Object Not Found", "Not Found")

	wantStatus(t, del("/api/queues/%2F/work/contents", guest), http.StatusNoContent)
	if n := len(b.Messages("/", "work")); n != 0 {
		t.Fatalf("after purge: %d messages", n)
	}
	wantStatus(t, del("/api/queues/%2F/work?if-empty=true&if-unused=true", guest), http.StatusNoContent)
	wantError(t, get(t, srv, "/api/queues/%2F/work"), 404, "Object Not Found", "Not Found")
	wantStatus(t, del("/api/queues/%2F/busy", guest), http.StatusNoContent)
}

// PUT declares a queue: 201, then 204; a redeclaration that differs and a
// bad flag are 400; configure permission is needed.
func TestPutQueue(t *testing.T) {
	b := actionBroker()
	srv := server(t, b)
	put := func(path, user, body string) response {
		t.Helper()
		return do(t, srv, http.MethodPut, path, user, user, nil, body)
	}
	wantStatus(t, put("/api/queues/%2F/new", "guest", `{"durable":true,"arguments":{"x-max-length":3}}`), http.StatusCreated)
	wantStatus(t, put("/api/queues/%2F/new", "guest", `{"durable":true}`), http.StatusNoContent)
	wantError(t, put("/api/queues/%2F/new", "guest", `{"durable":false}`), 400, "bad_request",
		"inequivalent arg 'durable' for queue 'new' in vhost '/': received 'false' but current is 'true'")
	r := put("/api/queues/%2F/new", "guest", `{"durable":"yes"}`)
	var e struct {
		Error  string
		Reason any
	}
	decode(t, r, &e)
	if r.status != 400 || !reflect.DeepEqual(e.Reason, []any{"not_boolean", "yes"}) {
		t.Fatalf("durable yes: %d %+v", r.status, e)
	}
	wantError(t, put("/api/queues/nov/q", "guest", `{}`), 404, "not_found", "vhost_not_found")
	wantError(t, put("/api/queues/%2F/q", "app", `{}`), 401, "not_authorised", "Access refused.")
	wantStatus(t, put("/api/queues/%2F/cfg1", "app", ``), http.StatusCreated)
	var q map[string]any
	decode(t, get(t, srv, "/api/queues/%2F/new"), &q)
	if q["durable"] != true || !reflect.DeepEqual(q["arguments"], map[string]any{"x-max-length": 3.0}) {
		t.Fatalf("declared queue: %v", q)
	}
}
