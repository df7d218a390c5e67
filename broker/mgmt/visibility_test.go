package mgmt_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

// visibilityBroker is the node the expectations of TestVisibilityByTag
// were recorded on (RabbitMQ 3.10.8 with the management plugin): vhosts
// "/a" and "/b", each with a queue, an exchange and a policy; users tagged
// management, policymaker and monitoring with a permission in "/a" only, a
// monitoring user and an administrator with no permission at all.
func visibilityBroker(t *testing.T) *mgmttest.Broker {
	t.Helper()
	b := mgmttest.New()
	for v, ready := range map[string]int{"a": 1, "b": 2} {
		vh := "/" + v
		if _, err := b.PutVHost(vh); err != nil {
			t.Fatal(err)
		}
		b.AddQueue(mgmt.Queue{Name: "q" + v, Vhost: vh, Durable: true, MessagesReady: ready, Consumers: 1})
		b.AddExchange(mgmt.Exchange{Name: "x" + v, Vhost: vh, Type: "direct", Durable: true})
		if _, err := b.PutPolicy(mgmt.Policy{Vhost: vh, Name: "p" + v, Pattern: "^zz", Definition: map[string]any{"max-length": int64(5)}}); err != nil {
			t.Fatal(err)
		}
	}
	for name, tag := range map[string]string{"mgm": mgmt.TagManagement, "pol": mgmt.TagPolicymaker, "mon": mgmt.TagMonitoring} {
		b.AddUser(name, "pw", tag)
		if err := b.SetPermission(mgmt.Permission{User: name, Vhost: "/a", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
			t.Fatal(err)
		}
	}
	b.AddUser("monnone", "pw", mgmt.TagMonitoring)
	b.AddUser("admnone", "pw", mgmt.TagAdministrator)
	return b
}

// answeredVhosts lists, sorted and without repeats, the vhosts of the
// objects a 200 answer holds: the "vhost" of each element of a list or of
// one object, or the "name" of each element of GET /api/vhosts.
func answeredVhosts(t *testing.T, r response, isVhostList bool) []string {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal([]byte(r.body), &items); err != nil {
		var one map[string]any
		decode(t, r, &one)
		items = []map[string]any{one}
	}
	key := "vhost"
	if isVhostList {
		key = "name"
	}
	out := []string{}
	for _, it := range items {
		v, _ := it[key].(string)
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// TestVisibilityByTag checks, user by user, what the read endpoints answer,
// as recorded on RabbitMQ 3.10.8: lists of queues, exchanges, bindings and
// policies keep the vhosts the user holds a permission in (an
// administrator's: all), monitoring users included; GET /api/vhosts lists
// all to monitoring users; a path naming a vhost the user holds no
// permission in answers 401 "User not authorised to access virtual host",
// an unknown vhost 404.
func TestVisibilityByTag(t *testing.T) {
	srv := server(t, visibilityBroker(t))
	const (
		noVhost  = "User not authorised to access virtual host"
		noObject = "User not authorised to access object"
		noAdmin  = "Not administrator user"
	)
	type want struct {
		status int
		reason string   // for a 401
		vhosts []string // for a 200
	}
	ok := func(vhosts ...string) want { return want{status: http.StatusOK, vhosts: vhosts} }
	refused := func(reason string) want { return want{status: http.StatusUnauthorized, reason: reason} }
	notFound := want{status: http.StatusNotFound}

	// What management, policymaker and monitoring users with a permission
	// in /a only are answered alike.
	inA := map[string]want{
		"/api/queues":               ok("/a"),
		"/api/queues/%2Fa":          ok("/a"),
		"/api/queues/%2Fb":          refused(noVhost),
		"/api/queues/%2Fnone":       notFound,
		"/api/queues/%2Fb/qb":       refused(noVhost),
		"/api/queues/%2Fb/nope":     refused(noVhost),
		"/api/queues/%2Fnone/nope":  notFound,
		"/api/queues/%2Fa/qa":       ok("/a"),
		"/api/exchanges":            ok("/a"),
		"/api/exchanges/%2Fb":       refused(noVhost),
		"/api/exchanges/%2Fnone":    notFound,
		"/api/exchanges/%2Fb/xb":    refused(noVhost),
		"/api/exchanges/%2Fb/nope":  refused(noVhost),
		"/api/exchanges/%2Fa/xa":    ok("/a"),
		"/api/vhosts/%2Fa":          refused(noAdmin),
		"/api/vhosts/%2Fb":          refused(noAdmin),
		"/api/policies":             ok("/a"),
		"/api/policies/%2Fa":        ok("/a"),
		"/api/policies/%2Fb":        refused(noVhost),
		"/api/policies/%2Fnone":     notFound,
		"/api/policies/%2Fb/pb":     refused(noObject),
		"/api/bindings":             ok("/a"),
		"/api/bindings/%2Fb":        refused(noVhost),
		"/api/permissions":          refused(noAdmin),
		"/api/vhosts/%2Fa/channels": ok(),
		"/api/vhosts/%2Fb/channels": refused(noVhost),
	}
	with := func(m map[string]want, extra map[string]want) map[string]want {
		out := map[string]want{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	users := map[string]map[string]want{
		"mgm": with(inA, map[string]want{
			"/api/vhosts":             ok("/a"),
			"/api/policies/%2Fa/pa":   refused(noObject), // not a policymaker
			"/api/policies/%2Fa/nope": refused(noObject),
		}),
		"pol": with(inA, map[string]want{
			"/api/vhosts":               ok("/a"),
			"/api/policies/%2Fa/pa":     ok("/a"),
			"/api/policies/%2Fa/nope":   notFound,
			"/api/policies/%2Fnone/pol": notFound,
		}),
		"mon": with(inA, map[string]want{
			"/api/vhosts":           ok("/", "/a", "/b"),
			"/api/policies/%2Fa/pa": refused(noObject),
		}),
		"monnone": {
			"/api/vhosts":         ok("/", "/a", "/b"),
			"/api/queues":         ok(),
			"/api/queues/%2Fa":    refused(noVhost),
			"/api/exchanges":      ok(),
			"/api/exchanges/%2Fa": refused(noVhost),
			"/api/policies":       ok(),
			"/api/bindings":       ok(),
			"/api/vhosts/%2Fa":    refused(noAdmin),
		},
		"admnone": {
			"/api/vhosts":            ok("/", "/a", "/b"),
			"/api/vhosts/%2Fb":       ok("/b"),
			"/api/vhosts/%2Fnone":    notFound,
			"/api/queues":            ok("/a", "/b"),
			"/api/queues/%2Fb":       ok("/b"),
			"/api/queues/%2Fb/qb":    ok("/b"),
			"/api/queues/%2Fb/nope":  notFound,
			"/api/exchanges":         ok("/", "/a", "/b"),
			"/api/exchanges/%2Fb":    ok("/b"),
			"/api/exchanges/%2Fb/xb": ok("/b"),
			"/api/policies":          ok("/a", "/b"),
			"/api/policies/%2Fb":     ok("/b"),
			"/api/policies/%2Fb/pb":  ok("/b"),
			"/api/bindings":          ok("/a", "/b"),
			"/api/bindings/%2Fb":     ok("/b"),
		},
	}
	for user, paths := range users {
		for path, w := range paths {
			t.Run(user+" GET "+path, func(t *testing.T) {
				r := do(t, srv, http.MethodGet, path, user, "pw", nil, "")
				switch w.status {
				case http.StatusOK:
					wantStatus(t, r, http.StatusOK)
					isVhostList := path == "/api/vhosts" || path == "/api/vhosts/%2Fb"
					want := w.vhosts
					if want == nil {
						want = []string{}
					}
					if got := answeredVhosts(t, r, isVhostList); !reflect.DeepEqual(got, want) {
						t.Errorf("GET %s as %s: vhosts %q, want %q", path, user, got, want)
					}
				case http.StatusNotFound:
					wantError(t, r, http.StatusNotFound, "Object Not Found", "Not Found")
				default:
					wantError(t, r, http.StatusUnauthorized, "not_authorised", w.reason)
				}
			})
		}
	}
}

// TestOverviewTotalsByTag checks GET /api/overview's totals: monitoring
// users and administrators count every vhost's queues, exchanges and
// messages, and consumers; others count those of the vhosts they hold a
// permission in, and RabbitMQ 3.10.8 gives them no "consumers" item.
// Connections and channels count those the user may see.
func TestOverviewTotalsByTag(t *testing.T) {
	b := visibilityBroker(t)
	mine := conn(1, "mgm", "")
	mine.Vhost = "/a"
	b.AddConnection(mine)
	b.AddConnection(conn(2, "guest", ""))
	srv := server(t, b)

	type totals struct {
		ObjectTotals map[string]float64 `json:"object_totals"`
		QueueTotals  map[string]float64 `json:"queue_totals"`
	}
	for _, tt := range []struct {
		user         string
		objects      map[string]float64
		messagesWant float64
	}{
		// /a: its queue holds 1 message; /b's holds 2; 6 default exchanges
		// and one more per vhost; "/" has the 6 defaults.
		{"mgm", map[string]float64{"connections": 1, "channels": 1, "queues": 1, "exchanges": 7}, 1},
		{"pol", map[string]float64{"connections": 0, "channels": 0, "queues": 1, "exchanges": 7}, 1},
		{"mon", map[string]float64{"connections": 2, "channels": 2, "queues": 2, "exchanges": 20, "consumers": 2}, 3},
		{"monnone", map[string]float64{"connections": 2, "channels": 2, "queues": 2, "exchanges": 20, "consumers": 2}, 3},
		{"admnone", map[string]float64{"connections": 2, "channels": 2, "queues": 2, "exchanges": 20, "consumers": 2}, 3},
	} {
		r := do(t, srv, http.MethodGet, "/api/overview", tt.user, "pw", nil, "")
		wantStatus(t, r, http.StatusOK)
		var got totals
		decode(t, r, &got)
		if !reflect.DeepEqual(got.ObjectTotals, tt.objects) {
			t.Errorf("%s: object_totals %v, want %v", tt.user, got.ObjectTotals, tt.objects)
		}
		if got.QueueTotals["messages"] != tt.messagesWant || got.QueueTotals["messages_ready"] != tt.messagesWant {
			t.Errorf("%s: queue_totals %v, want %v messages", tt.user, got.QueueTotals, tt.messagesWant)
		}
	}
}
