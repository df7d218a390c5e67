package broker_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// apiItems GETs path as user, wants 200, and lists each element's vhost
// and name as "vhost|name".
func apiItems(t *testing.T, hs *httptest.Server, path, user string) []string {
	t.Helper()
	status, body := apiCall(t, hs, http.MethodGet, path, user, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s as %s: %d %s", path, user, status, body)
	}
	var items []struct{ Vhost, Name string }
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, it.Vhost+"|"+it.Name)
	}
	return out
}

// The read endpoints of a real server show a user the vhosts RabbitMQ
// 3.10.8 shows it: a management user and a monitoring user with a
// permission in vhost a see a's queues and exchanges only, are refused b by
// name, and count a's objects only in the overview (the monitoring user:
// every vhost's); GET /api/vhosts lists b to the monitoring user.
func TestMgmtVisibleVhosts(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	for _, step := range []struct{ method, path, body string }{
		{http.MethodPut, "/api/vhosts/a", ""},
		{http.MethodPut, "/api/vhosts/b", ""},
		{http.MethodPut, "/api/users/app", `{"password":"app","tags":"management"}`},
		{http.MethodPut, "/api/users/mon", `{"password":"mon","tags":"monitoring"}`},
		{http.MethodPut, "/api/users/adm", `{"password":"adm","tags":"administrator"}`},
		{http.MethodPut, "/api/permissions/a/app", `{"configure":".*","write":".*","read":".*"}`},
		{http.MethodPut, "/api/permissions/a/mon", `{"configure":".*","write":".*","read":".*"}`},
		{http.MethodPut, "/api/queues/a/qa", `{}`},
		{http.MethodPut, "/api/queues/b/qb", `{}`},
	} {
		if status, body := apiCall(t, hs, step.method, step.path, "guest", step.body); status != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", step.method, step.path, status, body)
		}
	}
	apiWant(t, hs, http.MethodPost, "/api/exchanges/b/amq.default/publish", "guest",
		`{"properties":{},"routing_key":"qb","payload":"x","payload_encoding":"string"}`, http.StatusOK, `{"routed":true}`)

	for user, want := range map[string][]string{"app": {"a|qa"}, "mon": {"a|qa"}, "adm": {"a|qa", "b|qb"}} {
		if got := apiItems(t, hs, "/api/queues", user); !reflect.DeepEqual(got, want) {
			t.Errorf("GET /api/queues as %s: %q, want %q", user, got, want)
		}
	}
	for _, user := range []string{"app", "mon"} {
		for _, x := range apiItems(t, hs, "/api/exchanges", user) {
			if x[:2] != "a|" {
				t.Errorf("GET /api/exchanges as %s lists %q", user, x)
			}
		}
		for _, path := range []string{"/api/queues/b", "/api/queues/b/qb", "/api/queues/b/nope", "/api/exchanges/b", "/api/exchanges/b/amq.direct"} {
			apiWant(t, hs, http.MethodGet, path, user, "", http.StatusUnauthorized,
				`{"error":"not_authorised","reason":"User not authorised to access virtual host"}`)
		}
		apiWant(t, hs, http.MethodGet, "/api/vhosts/a", user, "", http.StatusUnauthorized,
			`{"error":"not_authorised","reason":"Not administrator user"}`)
	}
	apiWant(t, hs, http.MethodGet, "/api/queues/nope", "app", "", http.StatusNotFound, `{"error":"Object Not Found","reason":"Not Found"}`)
	if got := apiItems(t, hs, "/api/vhosts", "app"); !reflect.DeepEqual(got, []string{"|a"}) {
		t.Errorf("GET /api/vhosts as app: %q", got)
	}
	if got := apiItems(t, hs, "/api/vhosts", "mon"); !reflect.DeepEqual(got, []string{"|/", "|a", "|b"}) {
		t.Errorf("GET /api/vhosts as mon: %q", got)
	}

	for _, tt := range []struct {
		user              string
		queues, messages  float64
		consumersReported bool
	}{
		{"app", 1, 0, false},
		{"mon", 2, 1, true},
		{"adm", 2, 1, true},
	} {
		_, body := apiCall(t, hs, http.MethodGet, "/api/overview", tt.user, "")
		var ov struct {
			ObjectTotals map[string]float64 `json:"object_totals"`
			QueueTotals  map[string]float64 `json:"queue_totals"`
		}
		if err := json.Unmarshal([]byte(body), &ov); err != nil {
			t.Fatalf("overview as %s: %v in %s", tt.user, err, body)
		}
		_, hasConsumers := ov.ObjectTotals["consumers"]
		if ov.ObjectTotals["queues"] != tt.queues || ov.QueueTotals["messages"] != tt.messages || hasConsumers != tt.consumersReported {
			t.Errorf("overview as %s: object_totals %v, queue_totals %v; want %v queues, %v messages, consumers reported %v",
				tt.user, ov.ObjectTotals, ov.QueueTotals, tt.queues, tt.messages, tt.consumersReported)
		}
	}
}
