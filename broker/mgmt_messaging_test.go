package broker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// apiCall sends method to hs's path as user (whose password is the user's
// name, or guest's) with body, and returns the status and the body.
func apiCall(t *testing.T, hs *httptest.Server, method, path, user, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, hs.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, user)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// apiWant fails unless the call answers status with JSON body want
// (compared as decoded JSON; "" for no body).
func apiWant(t *testing.T, hs *httptest.Server, method, path, user, body string, status int, want string) {
	t.Helper()
	got, gotBody := apiCall(t, hs, method, path, user, body)
	if got != status {
		t.Fatalf("%s %s as %s: %d, want %d; body %s", method, path, user, got, status, gotBody)
	}
	if want == "" {
		if strings.TrimSpace(gotBody) != "" {
			t.Fatalf("%s %s: body %q, want none", method, path, gotBody)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal([]byte(gotBody), &g); err != nil {
		t.Fatalf("%s %s: %v in %q", method, path, err, gotBody)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if gj, _ := json.Marshal(g); string(gj) != string(mustJSON(w)) {
		t.Fatalf("%s %s:\n got %s\nwant %s", method, path, gj, mustJSON(w))
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// apiGot is one message of POST .../get.
type apiGot struct {
	Payload      string         `json:"payload"`
	Encoding     string         `json:"payload_encoding"`
	Redelivered  bool           `json:"redelivered"`
	MessageCount int            `json:"message_count"`
	RoutingKey   string         `json:"routing_key"`
	Properties   map[string]any `json:"properties"`
}

// apiGet takes n messages from queue q with mode, through the API.
func apiGet(t *testing.T, hs *httptest.Server, q string, n int, mode string) []apiGot {
	t.Helper()
	status, body := apiCall(t, hs, http.MethodPost, "/api/queues/%2F/"+q+"/get", "guest",
		`{"count":`+itoa(n)+`,"ackmode":"`+mode+`","encoding":"auto"}`)
	if status != http.StatusOK {
		t.Fatalf("get %s %s: %d %s", q, mode, status, body)
	}
	body = strings.ReplaceAll(body, `"properties":[]`, `"properties":{}`)
	var out []apiGot
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// apiQueue reads one queue's JSON.
func apiQueue(t *testing.T, hs *httptest.Server, q string) map[string]any {
	t.Helper()
	status, body := apiCall(t, hs, http.MethodGet, "/api/queues/%2F/"+url.PathEscape(q), "guest", "")
	if status != http.StatusOK {
		t.Fatalf("GET queue %s: %d %s", q, status, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// roundTrip waits until the broker has handled everything ch sent before:
// publishes and acks have no reply, queue.declare (passive) has, and a
// channel's methods are handled in order.
func roundTrip(t *testing.T, ch *amqp091.Channel, queue string) {
	t.Helper()
	if _, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil); err != nil {
		t.Fatalf("passive declare %s: %v", queue, err)
	}
}

// payloads lists the payloads of got.
func payloads(got []apiGot) string {
	var s []string
	for _, g := range got {
		s = append(s, g.Payload)
	}
	return strings.Join(s, ",")
}

// A get through the API is a client's basic.get: ack_requeue_true and
// reject_requeue_true put the messages back, marked redelivered, in their
// place; ack_requeue_false removes them; reject_requeue_false
// dead-letters them; message_count is what remains ready.
func TestMgmtGetAckModes(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	ch := channel(t, dial(t, b, "getter"))
	declare(t, ch, "dlq", nil)
	declare(t, ch, "work", amqp091.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"})
	for _, m := range []string{"m1", "m2", "m3", "m4"} {
		publish(t, ch, "work", []byte(m))
	}
	roundTrip(t, ch, "work")

	got := apiGet(t, hs, "work", 2, "ack_requeue_true")
	if payloads(got) != "m1,m2" || got[0].Redelivered || got[0].MessageCount != 3 || got[1].MessageCount != 2 {
		t.Fatalf("ack_requeue_true: %+v", got)
	}
	if d := get(t, ch, "work"); string(d.Body) != "m1" || !d.Redelivered {
		t.Fatalf("a client's get after ack_requeue_true: %q redelivered %v", d.Body, d.Redelivered)
	} else if err := d.Nack(false, true); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, ch, "work")
	got = apiGet(t, hs, "work", 1, "reject_requeue_true")
	if payloads(got) != "m1" || !got[0].Redelivered || got[0].MessageCount != 3 {
		t.Fatalf("reject_requeue_true: %+v", got)
	}
	got = apiGet(t, hs, "work", 1, "ack_requeue_false")
	if payloads(got) != "m1" || got[0].MessageCount != 3 {
		t.Fatalf("ack_requeue_false: %+v", got)
	}
	got = apiGet(t, hs, "work", 1, "reject_requeue_false")
	if payloads(got) != "m2" || got[0].MessageCount != 2 {
		t.Fatalf("reject_requeue_false: %+v", got)
	}
	if q := apiQueue(t, hs, "work"); q["messages"] != 2.0 || q["messages_unacknowledged"] != 0.0 {
		t.Fatalf("work after the gets: %v", q)
	}
	if got := apiGet(t, hs, "dlq", -1, "ack_requeue_false"); payloads(got) != "m2" {
		t.Fatalf("dead-lettered: %+v", got)
	}
	if got := apiGet(t, hs, "work", -1, "ack_requeue_false"); payloads(got) != "m3,m4" {
		t.Fatalf("count -1: %+v", got)
	}
	if got := apiGet(t, hs, "work", 3, "ack_requeue_true"); len(got) != 0 {
		t.Fatalf("empty queue: %+v", got)
	}
	apiWant(t, hs, http.MethodPost, "/api/queues/%2F/nope/get", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`,
		404, `{"error":"not_found","reason":"NOT_FOUND - no queue 'nope' in vhost '/'"}`)
	apiWant(t, hs, http.MethodPost, "/api/queues/%2F/work/get", "guest", `{"count":1,"ackmode":"bogus","encoding":"auto"}`, 500, "")

	// Another connection's exclusive queue is locked, as for a client.
	if _, err := ch.QueueDeclare("mine", false, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	const locked = "cannot obtain exclusive access to locked queue 'mine' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."
	apiWant(t, hs, http.MethodPost, "/api/queues/%2F/mine/get", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`,
		400, `{"error":"bad_request","reason":"405 RESOURCE_LOCKED - `+locked+`"}`)
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/mine/contents", "guest", "", 400, `{"error":"bad_request","reason":"`+locked+`"}`)
}

// A publish through the API is routed as a client's: the default exchange
// by queue name, the properties reach the consumer, a persistent message
// to a durable queue is stored, and an unroutable one says routed false.
func TestMgmtPublish(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	hs := mgmtServer(t, b)
	ch := channel(t, dial(t, b, "consumer"))
	declareDurable(t, ch, "durable", nil)
	declare(t, ch, "bound", nil)
	if err := ch.QueueBind("bound", "rk", "amq.direct", false, nil); err != nil {
		t.Fatal(err)
	}
	apiWant(t, hs, http.MethodPost, "/api/exchanges/%2F/amq.default/publish", "guest",
		`{"properties":{"delivery_mode":2,"content_type":"text/plain","headers":{"h":"v"},"message_id":"id1"},"routing_key":"durable","payload":"aGVsbG8=","payload_encoding":"base64"}`,
		200, `{"routed":true}`)
	apiWant(t, hs, http.MethodPost, "/api/exchanges/%2F/amq.direct/publish", "guest",
		`{"properties":{},"routing_key":"rk","payload":"via direct","payload_encoding":"string"}`, 200, `{"routed":true}`)
	apiWant(t, hs, http.MethodPost, "/api/exchanges/%2F/amq.direct/publish", "guest",
		`{"properties":{},"routing_key":"other","payload":"x","payload_encoding":"string"}`, 200, `{"routed":false}`)
	apiWant(t, hs, http.MethodPost, "/api/exchanges/%2F/nope/publish", "guest",
		`{"properties":{},"routing_key":"rk","payload":"x","payload_encoding":"string"}`, 400,
		`{"error":"bad_request","reason":"404 NOT_FOUND - no exchange 'nope' in vhost '/'"}`)
	apiWant(t, hs, http.MethodPost, "/api/exchanges/%2F/amq.default/publish", "guest",
		`{"properties":{"user_id":"bob"},"routing_key":"bound","payload":"x","payload_encoding":"string"}`, 400,
		`{"error":"bad_request","reason":"406 PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'"}`)

	if q := apiQueue(t, hs, "durable"); q["messages_persistent"] != 1.0 || q["messages_ready"] != 1.0 {
		t.Fatalf("durable queue after a persistent publish: %v", q)
	}
	d := get(t, ch, "durable")
	if string(d.Body) != "hello" || d.DeliveryMode != 2 || d.ContentType != "text/plain" || d.MessageId != "id1" || d.Headers["h"] != "v" {
		t.Fatalf("delivered: %+v", d)
	}
	if d := get(t, ch, "bound"); string(d.Body) != "via direct" || d.Exchange != "amq.direct" || d.RoutingKey != "rk" {
		t.Fatalf("bound: %+v", d)
	}
	if q := apiQueue(t, hs, "bound"); q["messages_ready"] != 0.0 {
		t.Fatalf("bound got the unroutable message: %v", q)
	}
}

// Purge removes the ready messages; delete with if-empty is refused while
// there are messages, with if-unused while there is a consumer.
func TestMgmtPurgeAndDelete(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	ch := channel(t, dial(t, b, "owner"))
	declare(t, ch, "q", nil)
	declare(t, ch, "consumed", nil)
	publish(t, ch, "q", []byte("a"))
	publish(t, ch, "q", []byte("b"))
	roundTrip(t, ch, "q")
	if _, err := ch.Consume("consumed", "c", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/q?if-empty=true", "guest", "", 400,
		`{"error":"bad_request","reason":"queue 'q' in vhost '/' not empty"}`)
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/consumed?if-unused=true", "guest", "", 400,
		`{"error":"bad_request","reason":"queue 'consumed' in vhost '/' in use"}`)
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/q/contents", "guest", "", 204, "")
	if q := apiQueue(t, hs, "q"); q["messages"] != 0.0 {
		t.Fatalf("after purge: %v", q)
	}
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/q?if-empty=true", "guest", "", 204, "")
	apiWant(t, hs, http.MethodGet, "/api/queues/%2F/q", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`)
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/q/contents", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`)
	apiWant(t, hs, http.MethodPut, "/api/queues/%2F/made", "guest", `{"durable":false,"arguments":{"x-max-length":1}}`, 201, "")
	apiWant(t, hs, http.MethodPut, "/api/queues/%2F/made", "guest", `{"durable":true}`, 400,
		`{"error":"bad_request","reason":"inequivalent arg 'durable' for queue 'made' in vhost '/': received 'true' but current is 'false'"}`)
	if _, err := ch.QueueDeclarePassive("made", false, false, false, false, amqp091.Table{"x-max-length": int64(1)}); err != nil {
		t.Fatalf("the queue made through the API: %v", err)
	}
}

// The bindings listings include each queue's default-exchange binding.
func TestMgmtBindings(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	ch := channel(t, dial(t, b, "binder"))
	declare(t, ch, "q", nil)
	if err := ch.QueueBind("q", "k", "amq.direct", false, amqp091.Table{"x": "y"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("fan", "fanout", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeBind("fan", "a.#", "amq.topic", false, nil); err != nil {
		t.Fatal(err)
	}
	apiWant(t, hs, http.MethodGet, "/api/queues/%2F/q/bindings", "guest", "", 200, `[
		{"source":"","vhost":"/","destination":"q","destination_type":"queue","routing_key":"q","arguments":{},"properties_key":"q"},
		{"source":"amq.direct","vhost":"/","destination":"q","destination_type":"queue","routing_key":"k","arguments":{"x":"y"},"properties_key":"k~gsWvgg"}]`)
	apiWant(t, hs, http.MethodGet, "/api/exchanges/%2F/fan/bindings/destination", "guest", "", 200, `[
		{"source":"amq.topic","vhost":"/","destination":"fan","destination_type":"exchange","routing_key":"a.#","arguments":{},"properties_key":"a.%23"}]`)
	status, body := apiCall(t, hs, http.MethodGet, "/api/bindings/%2F", "guest", "")
	if status != 200 || !strings.HasPrefix(body, `[{"source":"","vhost":"/","destination":"q"`) || strings.Count(body, `"source"`) != 3 {
		t.Fatalf("bindings of /: %d %s", status, body)
	}
}

// The channels listing shows prefetch, consumers, unacknowledged
// deliveries and the confirm mode of a client's channels.
func TestMgmtChannels(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	c := dial(t, b, "chans")
	ch1 := channel(t, c)
	declare(t, ch1, "q", nil)
	for range 3 {
		publish(t, ch1, "q", []byte("m"))
	}
	if err := ch1.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch1.Consume("q", "ctag", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-deliveries:
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery")
		}
	}
	ch2 := channel(t, c)
	if err := ch2.Confirm(false); err != nil {
		t.Fatal(err)
	}
	if err := ch2.PublishWithContext(context.Background(), "", "nowhere", false, false, amqp091.Publishing{}); err != nil {
		t.Fatal(err)
	}

	var conn string
	for _, ac := range apiConnections(t, hs) {
		if ac.ClientProperties["connection_name"] == "chans" {
			conn = ac.Name
		}
	}
	var chans []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := apiCall(t, hs, http.MethodGet, "/api/connections/"+url.PathEscape(conn)+"/channels", "guest", "")
		chans = nil
		if err := json.Unmarshal([]byte(body), &chans); err != nil {
			t.Fatalf("%v in %s", err, body)
		}
		// The confirm of ch2's publish and its count may trail the publish.
		if len(chans) == 2 && chans[1]["message_stats"] != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(chans) != 2 {
		t.Fatalf("channels: %v", chans)
	}
	c1, c2 := chans[0], chans[1]
	if c1["name"] != conn+" (1)" || c1["number"] != 1.0 || c1["prefetch_count"] != 2.0 || c1["global_prefetch_count"] != 0.0 ||
		c1["consumer_count"] != 1.0 || c1["messages_unacknowledged"] != 2.0 || c1["confirm"] != false || c1["state"] != "running" ||
		c1["user"] != "guest" || c1["vhost"] != "/" {
		t.Fatalf("channel 1: %v", c1)
	}
	if cd, _ := c1["connection_details"].(map[string]any); cd["name"] != conn || cd["peer_host"] != "127.0.0.1" {
		t.Fatalf("channel 1's connection_details: %v", c1["connection_details"])
	}
	if ms, _ := c1["message_stats"].(map[string]any); ms["deliver"] != 2.0 || ms["publish"] != 3.0 {
		t.Fatalf("channel 1's message_stats: %v", c1["message_stats"])
	}
	if c2["confirm"] != true || c2["consumer_count"] != 0.0 || c2["messages_unconfirmed"] != 0.0 {
		t.Fatalf("channel 2: %v", c2)
	}
	if ms, _ := c2["message_stats"].(map[string]any); ms["publish"] != 1.0 || ms["drop_unroutable"] != 1.0 {
		t.Fatalf("channel 2's message_stats: %v", c2["message_stats"])
	}
	status, body := apiCall(t, hs, http.MethodGet, "/api/channels/"+url.PathEscape(conn+" (1)"), "guest", "")
	if status != 200 || !strings.Contains(body, `"consumer_tag":"ctag"`) {
		t.Fatalf("channel 1 alone: %d %s", status, body)
	}
	if err := ch1.Close(); err != nil {
		t.Fatal(err)
	}
	_, body = apiCall(t, hs, http.MethodGet, "/api/channels", "guest", "")
	if strings.Contains(body, conn+" (1)") || !strings.Contains(body, conn+" (2)") {
		t.Fatalf("after channel 1's close: %s", body)
	}
}

// Actions need the permission the AMQP method needs, administrators
// included: read for get and purge, write for publish, configure for
// delete and declare.
func TestMgmtMessagingPermissions(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	for _, step := range []struct{ path, body string }{
		{"/api/users/app", `{"password":"app","tags":"management"}`},
		{"/api/users/adm", `{"password":"adm","tags":"administrator"}`},
		{"/api/permissions/%2F/app", `{"configure":"^cfg","write":"^w","read":"^r"}`},
	} {
		if st := mgmtPut(t, hs.URL+step.path, step.body); st != http.StatusCreated {
			t.Fatalf("PUT %s: %d", step.path, st)
		}
	}
	ch := channel(t, dial(t, b, "setup"))
	declare(t, ch, "q", nil)
	declare(t, ch, "rq", nil)
	publish(t, ch, "rq", []byte("r"))
	roundTrip(t, ch, "rq")
	const getBody = `{"count":1,"ackmode":"ack_requeue_false","encoding":"auto"}`
	const pubBody = `{"properties":{},"routing_key":"q","payload":"x","payload_encoding":"string"}`
	refused := `{"error":"not_authorised","reason":"Access refused."}`
	apiWant(t, hs, http.MethodPost, "/api/queues/%2F/q/get", "app", getBody, 401,
		`{"error":"not_authorised","reason":"ACCESS_REFUSED - access to queue 'q' in vhost '/' refused for user 'app'"}`)
	apiWant(t, hs, http.MethodPost, "/api/exchanges/%2F/amq.default/publish", "app", pubBody, 400,
		`{"error":"bad_request","reason":"403 ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user 'app'"}`)
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/q/contents", "app", "", 401, refused)
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/q", "app", "", 401, refused)
	apiWant(t, hs, http.MethodPut, "/api/queues/%2F/q2", "app", `{}`, 401, refused)
	apiWant(t, hs, http.MethodPost, "/api/queues/%2F/q/get", "adm", getBody, 401, refused)
	apiWant(t, hs, http.MethodPost, "/api/exchanges/%2F/amq.default/publish", "adm", pubBody, 401, refused)
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/q", "adm", "", 401, refused)

	status, body := apiCall(t, hs, http.MethodPost, "/api/queues/%2F/rq/get", "app", getBody)
	if status != 200 || !strings.Contains(body, `"payload":"r"`) {
		t.Fatalf("app's get from rq: %d %s", status, body)
	}
	apiWant(t, hs, http.MethodPut, "/api/queues/%2F/cfg1", "app", ``, 201, "")
	apiWant(t, hs, http.MethodDelete, "/api/queues/%2F/cfg1", "app", "", 204, "")
	if q := apiQueue(t, hs, "q"); q["messages"] != 0.0 {
		t.Fatalf("q after the refusals: %v", q)
	}
}
