package mgmt_test

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

const (
	guestConn = "127.0.0.1:1000 -> 127.0.0.1:5672"
	appConn   = "127.0.0.1:2000 -> 127.0.0.1:5672"
)

// channelBroker has guest's connection with channels 1 (a consumer with
// prefetch 2 and 2 unacked, global prefetch 5) and 2 (confirm mode, 1
// unconfirmed), and app's connection with channel 1 (transactional).
func channelBroker() *mgmttest.Broker {
	b := mgmttest.New()
	b.AddUser("app", "app", mgmt.TagManagement)
	b.AddConnection(mgmt.Connection{Name: guestConn, User: "guest", Vhost: "/"})
	b.AddConnection(mgmt.Connection{Name: appConn, User: "app", Vhost: "/"})
	b.AddChannel(mgmt.Channel{Connection: guestConn, Number: 1, Node: "beatmq@test", User: "guest", Vhost: "/",
		PeerHost: "127.0.0.1", PeerPort: 1000, PrefetchCount: 2, GlobalPrefetchCount: 5, Unacked: 2,
		Consumers: []mgmt.ChannelConsumer{{Tag: "c1", Queue: "work", AckRequired: true, Prefetch: 2}},
		Stats:     mgmt.ChannelStats{Deliver: 2, Redeliver: 1}})
	b.AddChannel(mgmt.Channel{Connection: guestConn, Number: 2, User: "guest", Vhost: "/", PeerHost: "127.0.0.1", PeerPort: 1000,
		Confirm: true, Unconfirmed: 1, Stats: mgmt.ChannelStats{Publish: 3, Confirm: 2}})
	b.AddChannel(mgmt.Channel{Connection: appConn, Number: 1, User: "app", Vhost: "/", PeerHost: "127.0.0.1", PeerPort: 2000,
		Transactional: true, Uncommitted: 1})
	return b
}

// channelNames lists the names of a channels answer.
func channelNames(t *testing.T, r response) []string {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var cs []struct{ Name string }
	decode(t, r, &cs)
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// Channels are listed with RabbitMQ's names and fields; a management user
// sees its own only.
func TestChannels(t *testing.T) {
	srv := server(t, channelBroker())
	all := []string{guestConn + " (1)", guestConn + " (2)", appConn + " (1)"}
	if got := channelNames(t, get(t, srv, "/api/channels")); !reflect.DeepEqual(got, all) {
		t.Errorf("channels: %q, want %q", got, all)
	}
	if got := channelNames(t, get(t, srv, "/api/connections/"+url.PathEscape(guestConn)+"/channels")); len(got) != 2 {
		t.Errorf("guest's connection's channels: %q", got)
	}
	if got := channelNames(t, get(t, srv, "/api/vhosts/%2F/channels")); len(got) != 3 {
		t.Errorf("vhost / channels: %q", got)
	}
	wantError(t, get(t, srv, "/api/vhosts/nov/channels"), 404, "Object Not Found", "Not Found")
	if got := channelNames(t, do(t, srv, http.MethodGet, "/api/channels", "app", "app", nil, "")); !reflect.DeepEqual(got, []string{appConn + " (1)"}) {
		t.Errorf("app's channels: %q", got)
	}

	var cs []map[string]any
	decode(t, get(t, srv, "/api/connections/"+url.PathEscape(guestConn)+"/channels"), &cs)
	want := map[string]any{
		"name": guestConn + " (1)", "number": 1.0, "node": "beatmq@test", "user": "guest", "user_who_performed_action": "guest", "vhost": "/",
		"connection_details": map[string]any{"name": guestConn, "peer_host": "127.0.0.1", "peer_port": 1000.0},
		"state":              "running", "prefetch_count": 2.0, "global_prefetch_count": 5.0, "consumer_count": 1.0,
		"messages_unacknowledged": 2.0, "messages_unconfirmed": 0.0, "messages_uncommitted": 0.0, "acks_uncommitted": 0.0,
		"confirm": false, "transactional": false, "pending_raft_commands": 0.0,
		"message_stats": map[string]any{"ack": 0.0, "deliver": 2.0, "deliver_get": 2.0, "deliver_no_ack": 0.0, "get": 0.0,
			"get_empty": 0.0, "get_no_ack": 0.0, "redeliver": 1.0},
	}
	if !reflect.DeepEqual(cs[0], want) {
		t.Errorf("channel 1:\n got %v\nwant %v", cs[0], want)
	}
	if cs[1]["confirm"] != true || cs[1]["messages_unconfirmed"] != 1.0 ||
		!reflect.DeepEqual(cs[1]["message_stats"], map[string]any{"publish": 3.0, "confirm": 2.0, "return_unroutable": 0.0, "drop_unroutable": 0.0}) {
		t.Errorf("channel 2: %v", cs[1])
	}
}

// GET /api/channels/{name} adds consumer_details; another user's channel
// is 401, an unknown one 404; an unknown connection's channels are 500
// with no body, as in RabbitMQ 3.10.8.
func TestChannel(t *testing.T) {
	srv := server(t, channelBroker())
	var c map[string]any
	decode(t, get(t, srv, "/api/channels/"+url.PathEscape(guestConn+" (1)")), &c)
	cd, _ := c["consumer_details"].([]any)
	if len(cd) != 1 || !reflect.DeepEqual(c["deliveries"], []any{}) || !reflect.DeepEqual(c["publishes"], []any{}) {
		t.Fatalf("channel: %v", c)
	}
	d := cd[0].(map[string]any)
	if d["consumer_tag"] != "c1" || d["prefetch_count"] != 2.0 || d["ack_required"] != true ||
		!reflect.DeepEqual(d["queue"], map[string]any{"name": "work", "vhost": "/"}) {
		t.Errorf("consumer: %v", d)
	}
	decode(t, get(t, srv, "/api/channels/"+url.PathEscape(appConn+" (1)")), &c)
	if c["transactional"] != true || c["messages_uncommitted"] != 1.0 {
		t.Errorf("app's channel: %v", c)
	}
	wantError(t, get(t, srv, "/api/channels/"+url.PathEscape(guestConn+" (9)")), 404, "Object Not Found", "Not Found")
	wantError(t, do(t, srv, http.MethodGet, "/api/channels/"+url.PathEscape(guestConn+" (1)"), "app", "app", nil, ""),
		401, "not_authorised", "User not authorised to access object")
	wantError(t, do(t, srv, http.MethodGet, "/api/connections/"+url.PathEscape(guestConn)+"/channels", "app", "app", nil, ""),
		401, "not_authorised", "User not authorised to access object")
	r := get(t, srv, "/api/connections/nope/channels")
	if r.status != http.StatusInternalServerError || r.body != "" {
		t.Errorf("unknown connection: %d %q", r.status, r.body)
	}
}
