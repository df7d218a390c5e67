package broker_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// mgmtServer serves the management API of b over HTTP for the test.
func mgmtServer(t *testing.T, b *brokertest.Broker) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(mgmt.NewHandler(mgmt.ServerBroker(b.Server(), b.MemoryMonitor()), nil))
	t.Cleanup(hs.Close)
	return hs
}

func mgmtDo(t *testing.T, method, u string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("guest", "guest")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

type apiConn struct {
	Name             string         `json:"name"`
	ClientProperties map[string]any `json:"client_properties"`
	Timeout          int            `json:"timeout"`
	State            string         `json:"state"`
}

func apiConnections(t *testing.T, hs *httptest.Server) []apiConn {
	t.Helper()
	resp := mgmtDo(t, http.MethodGet, hs.URL+"/api/connections", nil)
	var out []apiConn
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// DELETE /api/connections/{name} closes the connection with 320
// CONNECTION_FORCED and the X-Reason as reply text, after releasing it:
// its unacked messages are back in their queue and its exclusive queues are
// gone when DELETE returns, and so is the connection from the list.
func TestMgmtCloseConnection(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	victim := dial(t, b, "victim")
	closed := victim.NotifyClose(make(chan *amqp091.Error, 1))
	ch := channel(t, victim)
	declare(t, ch, "work", nil)
	if _, err := ch.QueueDeclare("private", false, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	publish(t, ch, "work", []byte("job"))
	get(t, ch, "work") // unacked

	var name string
	for _, c := range apiConnections(t, hs) {
		if c.ClientProperties["connection_name"] == "victim" {
			name = c.Name
			if c.Timeout != 60 || c.State != "running" {
				t.Fatalf("connection %+v", c)
			}
		}
	}
	if name == "" {
		t.Fatal("victim not listed")
	}
	resp := mgmtDo(t, http.MethodDelete, hs.URL+"/api/connections/"+url.PathEscape(name), map[string]string{"X-Reason": "go away"})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %s", resp.Status)
	}
	for _, c := range apiConnections(t, hs) {
		if c.Name == name {
			t.Fatal("closed connection still listed")
		}
	}
	var qs []struct {
		Name          string `json:"name"`
		MessagesReady int    `json:"messages_ready"`
	}
	resp = mgmtDo(t, http.MethodGet, hs.URL+"/api/queues", nil)
	if err := json.NewDecoder(resp.Body).Decode(&qs); err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].Name != "work" || qs[0].MessagesReady != 1 {
		t.Fatalf("queues after the close: %+v", qs)
	}
	wantAMQPError(t, closeErr(t, closed), 320, "CONNECTION_FORCED - go away")

	if resp := mgmtDo(t, http.MethodDelete, hs.URL+"/api/connections/"+url.PathEscape(name), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE: %s", resp.Status)
	}
}

// The memory alarm follows the watermark set at run time: a tiny fraction
// blocks a publisher (connection.blocked), 0.4 unblocks it at once.
func TestMemoryWatermark(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithMemoryMonitor(0.4))
	hs := mgmtServer(t, b)
	c := dial(t, b, "publisher")
	blocked := c.NotifyBlocked(make(chan amqp091.Blocking, 2))
	ch := channel(t, c)
	declare(t, ch, "mem", nil)

	put := func(fraction string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, hs.URL+mgmt.WatermarkPath, strings.NewReader(`{"fraction":`+fraction+`}`))
		req.SetBasicAuth("guest", "guest")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PUT watermark %s: %s", fraction, resp.Status)
		}
	}
	put("0.000001")
	if m := b.MemoryMonitor().Status(); !m.Alarm || !b.Server().Blocked() || m.HighWatermark != 0.000001 || m.Used == 0 || m.Total == 0 {
		t.Fatalf("after a tiny watermark: %+v, blocked %v", m, b.Server().Blocked())
	}
	publish(t, ch, "mem", []byte("held"))
	select {
	case bl := <-blocked:
		if !bl.Active || bl.Reason != "low on memory" {
			t.Fatalf("blocking %+v", bl)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no connection.blocked")
	}
	put("0.4")
	if m := b.MemoryMonitor().Status(); m.Alarm || b.Server().Blocked() {
		t.Fatalf("after 0.4: %+v", m)
	}
	select {
	case bl := <-blocked:
		if bl.Active {
			t.Fatalf("blocking %+v", bl)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no connection.unblocked")
	}
	waitReady(t, channel(t, dial(t, b, "check")), "mem", 1)
}
