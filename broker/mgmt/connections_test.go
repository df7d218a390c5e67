package mgmt_test

import (
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/mgmt/mgmttest"
)

// conn returns an open connection as the broker's adapter would describe it.
func conn(peerPort int, user, clientName string) mgmt.Connection {
	c := mgmt.Connection{
		Name:          "127.0.0.1:" + strconv.Itoa(peerPort) + " -> 127.0.0.1:5672",
		User:          user,
		Vhost:         "/",
		PeerHost:      "127.0.0.1",
		PeerPort:      peerPort,
		Host:          "127.0.0.1",
		Port:          5672,
		AuthMechanism: "PLAIN",
		Timeout:       10,
		FrameMax:      131072,
		ChannelMax:    2047,
		Channels:      1,
		ConnectedAt:   time.UnixMilli(1_700_000_000_123),
		ClientProperties: map[string]any{
			"product": "AMQP 0.9.1 Client",
			"capabilities": map[string]any{
				"connection.blocked":     true,
				"consumer_cancel_notify": true,
			},
		},
	}
	if clientName != "" {
		c.ClientProperties["connection_name"] = clientName
	}
	return c
}

// TestSuiteRecoveryHelpers does what the amqp091-go v1.16.0 integration
// suite's recovery tests do (internal/utils/http.go): GET /api/connections/
// with a trailing slash, pick the connection by client_properties.
// connection_name, DELETE /api/connections/ + url.PathEscape(name), and
// accept only 200/201/204.
func TestSuiteRecoveryHelpers(t *testing.T) {
	srv, b := newServer(t)
	b.AddConnection(conn(40001, "guest", "other"))
	b.AddConnection(conn(40002, "guest", "test-connection-recovery-publish"))
	b.AddConnection(conn(40003, "guest", ""))

	client := http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	call := func(method, u string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("guest", "guest")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := call(http.MethodGet, srv.URL+"/api/connections/")
	var conns []struct {
		Name             string `json:"name"`
		ClientProperties struct {
			ConnectionName string `json:"connection_name"`
		} `json:"client_properties"`
	}
	err := decodeBody(resp, &conns)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 3 {
		t.Fatalf("got %d connections, want 3: %+v", len(conns), conns)
	}
	var target string
	for _, c := range conns {
		if c.ClientProperties.ConnectionName == "test-connection-recovery-publish" {
			target = c.Name
		}
	}
	if target != "127.0.0.1:40002 -> 127.0.0.1:5672" {
		t.Fatalf("found %q by connection_name", target)
	}

	resp = call(http.MethodDelete, srv.URL+"/api/connections/"+url.PathEscape(target))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE status = %d, want 204", resp.StatusCode)
	}
	want := []mgmttest.Close{{Name: target, Reason: "Closed via management plugin"}}
	if got := b.Closes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("closes = %+v, want %+v", got, want)
	}

	// Gone from the list, and a second DELETE is a 404.
	resp = call(http.MethodGet, srv.URL+"/api/connections/")
	if err := decodeBody(resp, &conns); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if c.Name == target {
			t.Fatalf("%q still listed after DELETE", target)
		}
	}
	resp = call(http.MethodDelete, srv.URL+"/api/connections/"+url.PathEscape(target))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE status = %d, want 404", resp.StatusCode)
	}
}

func TestDeleteConnection(t *testing.T) {
	tests := []struct {
		name       string
		path       string // after /api/connections/
		hdr        map[string]string
		wantStatus int
		wantClose  *mgmttest.Close
	}{
		{
			name:       "X-Reason becomes the reply text",
			path:       "127.0.0.1:40002%20-%3E%20127.0.0.1:5672",
			hdr:        map[string]string{"X-Reason": "operator says bye"},
			wantStatus: http.StatusNoContent,
			wantClose:  &mgmttest.Close{Name: "127.0.0.1:40002 -> 127.0.0.1:5672", Reason: "operator says bye"},
		},
		{
			name:       "colons escaped too",
			path:       "127.0.0.1%3A40002%20-%3E%20127.0.0.1%3A5672",
			wantStatus: http.StatusNoContent,
			wantClose:  &mgmttest.Close{Name: "127.0.0.1:40002 -> 127.0.0.1:5672", Reason: mgmt.DefaultCloseReason},
		},
		{
			name:       "unknown name",
			path:       "127.0.0.1:1%20-%3E%20127.0.0.1:5672",
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "unescaped name does not match",
			path:       "127.0.0.1:40002",
			wantStatus: http.StatusNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, b := newServer(t)
			b.AddConnection(conn(40002, "guest", "x"))
			r := do(t, srv, http.MethodDelete, "/api/connections/"+tt.path, "guest", "guest", tt.hdr, "")
			if tt.wantStatus == http.StatusNotFound {
				wantError(t, r, http.StatusNotFound, "Object Not Found", "Not Found")
			} else {
				wantStatus(t, r, tt.wantStatus)
				if r.body != "" {
					t.Fatalf("204 with body %q", r.body)
				}
			}
			var want []mgmttest.Close
			if tt.wantClose != nil {
				want = []mgmttest.Close{*tt.wantClose}
			}
			if got := b.Closes(); !reflect.DeepEqual(got, want) {
				t.Fatalf("closes = %+v, want %+v", got, want)
			}
		})
	}
}

func TestConnectionJSON(t *testing.T) {
	srv, b := newServer(t)
	c := conn(40002, "guest", "my app")
	c.Node = "beatmq@test"
	c.RecvOct, c.RecvCnt, c.SendOct, c.SendCnt = 1000, 10, 2000, 20
	c.ClientProperties["information"] = []byte("Licensed under the MPL")
	c.ClientProperties["raw"] = []byte{0xff, 0x00}
	c.ClientProperties["list"] = []any{int32(1), "two", map[string]any{"three": 3.5}}
	c.ClientProperties["when"] = time.Unix(100000000, 0)
	c.ClientProperties["nothing"] = nil
	b.AddConnection(c)

	r := get(t, srv, "/api/connections/127.0.0.1:40002%20-%3E%20127.0.0.1:5672")
	wantStatus(t, r, http.StatusOK)
	var got map[string]any
	decode(t, r, &got)

	want := map[string]any{
		"name":                      "127.0.0.1:40002 -> 127.0.0.1:5672",
		"node":                      "beatmq@test",
		"user":                      "guest",
		"user_who_performed_action": "guest",
		"vhost":                     "/",
		"peer_host":                 "127.0.0.1",
		"peer_port":                 40002.0,
		"host":                      "127.0.0.1",
		"port":                      5672.0,
		"protocol":                  "AMQP 0-9-1",
		"state":                     "running",
		"type":                      "network",
		"auth_mechanism":            "PLAIN",
		"timeout":                   10.0,
		"frame_max":                 131072.0,
		"channel_max":               2047.0,
		"channels":                  1.0,
		"connected_at":              1700000000123.0,
		"recv_oct":                  1000.0,
		"recv_cnt":                  10.0,
		"send_oct":                  2000.0,
		"send_cnt":                  20.0,
		"send_pend":                 0.0,
		"ssl":                       false,
		"ssl_protocol":              nil,
		"ssl_cipher":                nil,
		"ssl_hash":                  nil,
		"ssl_key_exchange":          nil,
		"peer_cert_issuer":          nil,
		"peer_cert_subject":         nil,
		"peer_cert_validity":        nil,
		"user_provided_name":        "my app",
		// beatmq's own, all empty here
		"beatmq_heartbeat_received":          0.0,
		"beatmq_heartbeat_sent":              0.0,
		"beatmq_heartbeat_cadence_last_s":    0.0,
		"beatmq_heartbeat_cadence_median_s":  0.0,
		"beatmq_heartbeat_silence_in_max_t":  nil,
		"beatmq_heartbeat_silence_out_max_t": nil,
		"beatmq_heartbeat_recv_age_s":        0.0,
		"beatmq_heartbeat_send_age_s":        0.0,
		"beatmq_heartbeat_late_warnings":     0.0,
		"beatmq_fault":                       nil,
		"client_properties": map[string]any{
			"product":         "AMQP 0.9.1 Client",
			"connection_name": "my app",
			"capabilities": map[string]any{
				"connection.blocked":     true,
				"consumer_cancel_notify": true,
			},
			"information": "Licensed under the MPL",
			"raw":         "Not UTF-8, base64 is: /wA=",
			"list":        []any{1.0, "two", map[string]any{"three": 3.5}},
			"when":        100000000.0,
			"nothing":     nil,
		},
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected field %s = %#v", k, v)
			}
		}
	}
}

func TestConnectionDefaults(t *testing.T) {
	srv, b := newServer(t)
	b.AddConnection(mgmt.Connection{Name: "a -> b", User: "guest", Vhost: "/"})
	r := get(t, srv, "/api/connections")
	wantStatus(t, r, http.StatusOK)
	var got []map[string]any
	decode(t, r, &got)
	if len(got) != 1 {
		t.Fatalf("got %d connections", len(got))
	}
	c := got[0]
	checks := map[string]any{
		"protocol": "AMQP 0-9-1", "state": "running", "connected_at": 0.0,
		"client_properties": map[string]any{},
	}
	for k, v := range checks {
		if !reflect.DeepEqual(c[k], v) {
			t.Errorf("%s = %#v, want %#v", k, c[k], v)
		}
	}
	if _, ok := c["user_provided_name"]; ok {
		t.Errorf("user_provided_name present without connection_name")
	}
	if _, ok := c["node"]; ok {
		t.Errorf("node present though empty")
	}
}

func TestNotUTF8Base64Lines(t *testing.T) {
	// 57 bytes encode to exactly 76 base64 characters; RabbitMQ's
	// split_lines/1 ends that line with a newline too.
	raw := make([]byte, 57)
	raw[0] = 0xff
	long := make([]byte, 60)
	long[0] = 0xff
	srv, b := newServer(t)
	c := conn(1, "guest", "")
	c.ClientProperties = map[string]any{"a": raw, "b": long}
	b.AddConnection(c)
	var got []struct {
		ClientProperties map[string]string `json:"client_properties"`
	}
	decode(t, get(t, srv, "/api/connections"), &got)
	a := got[0].ClientProperties["a"]
	if !strings.HasPrefix(a, "Not UTF-8, base64 is: /w") || !strings.HasSuffix(a, "\n") || len(a) != len("Not UTF-8, base64 is: ")+77 {
		t.Errorf("57 bytes: %q", a)
	}
	bv := got[0].ClientProperties["b"]
	lines := strings.Split(strings.TrimPrefix(bv, "Not UTF-8, base64 is: "), "\n")
	if len(lines) != 2 || len(lines[0]) != 76 || len(lines[1]) != 4 {
		t.Errorf("60 bytes: %q", bv)
	}
}

func TestConnectionListsAndVisibility(t *testing.T) {
	srv, b := newServer(t)
	b.AddUser("alice", "pw", mgmt.TagManagement)
	b.AddUser("mon", "pw", mgmt.TagMonitoring)
	b.AddExchange(mgmt.Exchange{Name: "", Vhost: "other", Type: "direct"})
	b.AddConnection(conn(3, "guest", ""))
	a := conn(2, "alice", "")
	a.Vhost = "other"
	b.AddConnection(a)
	b.AddConnection(conn(1, "guest", ""))
	if err := b.SetPermission(mgmt.Permission{User: "alice", Vhost: "other", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
		t.Fatal(err)
	}

	names := func(r response) []string {
		t.Helper()
		wantStatus(t, r, http.StatusOK)
		var cs []struct{ Name string }
		decode(t, r, &cs)
		out := []string{}
		for _, c := range cs {
			out = append(out, strings.TrimPrefix(strings.TrimSuffix(c.Name, " -> 127.0.0.1:5672"), "127.0.0.1:"))
		}
		return out
	}
	tests := []struct {
		user, path string
		want       []string
	}{
		{"guest", "/api/connections", []string{"1", "3", "2"}}, // by vhost, then name
		{"guest", "/api/connections/", []string{"1", "3", "2"}},
		{"mon", "/api/connections", []string{"1", "3", "2"}},
		{"alice", "/api/connections", []string{"2"}},
		{"guest", "/api/vhosts/%2F/connections", []string{"1", "3"}},
		{"guest", "/api/vhosts/other/connections", []string{"2"}},
		{"alice", "/api/vhosts/other/connections", []string{"2"}},
		{"mon", "/api/vhosts/%2F/connections", nil}, // no permission in "/"
		{"alice", "/api/vhosts/%2F/connections", nil},
	}
	for _, tt := range tests {
		pass := "pw"
		if tt.user == "guest" {
			pass = "guest"
		}
		r := do(t, srv, http.MethodGet, tt.path, tt.user, pass, nil, "")
		if tt.want == nil {
			// RabbitMQ 3.10.8 refuses a vhost the user holds no permission
			// in, to monitoring users too (is_authorized_vhost).
			wantError(t, r, http.StatusUnauthorized, "not_authorised", "User not authorised to access virtual host")
			continue
		}
		got := names(r)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s as %s: %v, want %v", tt.path, tt.user, got, tt.want)
		}
	}
	wantError(t, get(t, srv, "/api/vhosts/nope/connections"), http.StatusNotFound, "Object Not Found", "Not Found")

	// alice cannot see (so cannot delete) guest's connection; the monitoring
	// user sees it but may not close it; alice may close her own.
	guests := "/api/connections/127.0.0.1:1%20-%3E%20127.0.0.1:5672"
	wantError(t, do(t, srv, http.MethodGet, guests, "alice", "pw", nil, ""), http.StatusNotFound, "Object Not Found", "Not Found")
	wantError(t, do(t, srv, http.MethodDelete, guests, "alice", "pw", nil, ""), http.StatusNotFound, "Object Not Found", "Not Found")
	wantError(t, do(t, srv, http.MethodDelete, guests, "mon", "pw", nil, ""), http.StatusUnauthorized, "not_authorised", "Not administrator user")
	wantStatus(t, do(t, srv, http.MethodDelete, "/api/connections/127.0.0.1:2%20-%3E%20127.0.0.1:5672", "alice", "pw", nil, ""), http.StatusNoContent)
	if got := b.Closes(); len(got) != 1 || got[0].Name != "127.0.0.1:2 -> 127.0.0.1:5672" {
		t.Fatalf("closes = %+v", got)
	}
}

func TestEmptyConnectionListIsArray(t *testing.T) {
	srv, _ := newServer(t)
	r := get(t, srv, "/api/connections")
	wantStatus(t, r, http.StatusOK)
	if strings.TrimSpace(r.body) != "[]" {
		t.Fatalf("body = %q, want []", r.body)
	}
}

// closeRacer reports a connection that is gone by the time it is closed.
type closeRacer struct{ *mgmttest.Broker }

func (closeRacer) CloseConnection(string, string) bool { return false }

func TestDeleteConnectionClosedMeanwhile(t *testing.T) {
	b := mgmttest.New()
	b.AddConnection(conn(7, "guest", ""))
	srv := server(t, closeRacer{b})
	r := do(t, srv, http.MethodDelete, "/api/connections/127.0.0.1:7%20-%3E%20127.0.0.1:5672", "guest", "guest", nil, "")
	wantError(t, r, http.StatusNotFound, "Object Not Found", "Not Found")
}

func TestClientPropertyScalars(t *testing.T) {
	srv, b := newServer(t)
	c := conn(1, "guest", "")
	c.ClientProperties = map[string]any{
		"u16": uint16(65535), "u32": uint32(4294967295), "i8": int8(-2), "i64": int64(1 << 60),
		"f32": float32(1.5), "nan": math.NaN(), "inf": math.Inf(1),
		"dur": 2 * time.Second, "struct": struct{ A, B int }{1, 2},
	}
	b.AddConnection(c)
	r := get(t, srv, "/api/connections")
	if !strings.Contains(r.body, `"i64":1152921504606846976`) {
		t.Errorf("int64 lost precision: %s", r.body)
	}
	var got []struct {
		ClientProperties map[string]any `json:"client_properties"`
	}
	decode(t, r, &got)
	want := map[string]any{
		"u16": 65535.0, "u32": 4294967295.0, "i8": -2.0, "i64": float64(1 << 60),
		"f32": 1.5, "nan": "NaN", "inf": "+Inf", "dur": "2s", "struct": "{1 2}",
	}
	if !reflect.DeepEqual(got[0].ClientProperties, want) {
		t.Errorf("client_properties = %v\nwant %v", got[0].ClientProperties, want)
	}
}

func TestRabbitMQDecimal(t *testing.T) {
	for _, tt := range []struct {
		scale uint8
		value uint32
		want  float64
	}{{2, 1, 2.1}, {0, 0, 0}, {1, 4294967295, 1.4294967295}, {255, 10, 255.1}} {
		if got := mgmt.RabbitMQDecimal(tt.scale, tt.value); got != tt.want {
			t.Errorf("RabbitMQDecimal(%d, %d) = %v, want %v", tt.scale, tt.value, got, tt.want)
		}
	}
}
