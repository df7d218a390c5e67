package mgmt_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker/mgmt"
)

func TestOverview(t *testing.T) {
	b := queueBroker()
	b.SetOverview(mgmt.Overview{
		ProductVersion: "1.2.3",
		Node:           "beatmq@host",
		StartedAt:      time.Now().Add(-time.Minute),
		Listeners: []mgmt.Listener{
			{Protocol: "amqp", IPAddress: "127.0.0.1", Port: 5672},
			{Protocol: "http", IPAddress: "127.0.0.1", Port: 15672},
			{Protocol: mgmt.ProtocolPrometheus, IPAddress: "127.0.0.1", Port: 15692},
		},
	})
	c := conn(1, "guest", "")
	c.Channels = 3
	b.AddConnection(c)
	b.AddConnection(conn(2, "guest", ""))
	srv := server(t, b)

	var got map[string]any
	decode(t, get(t, srv, "/api/overview"), &got)
	want := map[string]any{
		"management_version":  "3.10.8",
		"rabbitmq_version":    "3.10.8",
		"product_name":        "beatmq",
		"product_version":     "1.2.3",
		"node":                "beatmq@host",
		"cluster_name":        "beatmq@host",
		"rates_mode":          "none",
		"disable_stats":       false,
		"enable_queue_totals": true,
		"message_stats":       map[string]any{},
		"object_totals": map[string]any{
			"connections": 2.0, "channels": 4.0, "queues": 3.0, "consumers": 1.0, "exchanges": 8.0,
		},
		"queue_totals": map[string]any{
			"messages": 6.0, "messages_ready": 4.0, "messages_unacknowledged": 2.0,
		},
		"listeners": []any{
			map[string]any{"node": "beatmq@host", "protocol": "amqp", "ip_address": "127.0.0.1", "port": 5672.0, "socket_opts": map[string]any{}},
			map[string]any{"node": "beatmq@host", "protocol": "http", "ip_address": "127.0.0.1", "port": 15672.0, "socket_opts": map[string]any{}},
			map[string]any{"node": "beatmq@host", "protocol": "http/prometheus", "ip_address": "127.0.0.1", "port": 15692.0, "socket_opts": map[string]any{}},
		},
		// As RabbitMQ 3.10.8 lists rabbitmq_prometheus's context.
		"contexts": []any{
			map[string]any{"node": "beatmq@host", "description": "RabbitMQ Management", "path": "/", "port": "15672", "ip": "127.0.0.1"},
			map[string]any{"node": "beatmq@host", "description": "RabbitMQ Prometheus", "path": "/", "port": "15692", "ip": "127.0.0.1", "protocol": "'http/prometheus'"},
		},
		"alarms": []any{},
	}
	types := got["exchange_types"]
	delete(got, "exchange_types")
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s", k)
			}
		}
	}
	if ts, ok := types.([]any); !ok || len(ts) != 4 {
		t.Errorf("exchange_types = %v", types)
	}
}

func TestNodesAndAlarms(t *testing.T) {
	srv, b := newServer(t)
	b.SetOverview(mgmt.Overview{Node: "beatmq@test", StartedAt: time.Now().Add(-2 * time.Second)})

	var nodes []map[string]any
	decode(t, get(t, srv, "/api/nodes"), &nodes)
	if len(nodes) != 1 {
		t.Fatalf("nodes = %v", nodes)
	}
	n := nodes[0]
	if n["name"] != "beatmq@test" || n["running"] != true || n["mem_alarm"] != false ||
		n["mem_limit"] != float64(limitOf(0.4)) || n["vm_memory_high_watermark"] != 0.4 ||
		n["uptime"].(float64) < 2000 {
		t.Errorf("node = %v", n)
	}
	if n["beatmq_disk_monitored"] != true {
		t.Errorf("beatmq_disk_monitored = %v, want true", n["beatmq_disk_monitored"])
	}
	b.SetDisk(mgmt.Disk{})
	nodes = nil
	decode(t, get(t, srv, "/api/nodes"), &nodes)
	if n := nodes[0]; n["beatmq_disk_monitored"] != false || n["disk_free"] != float64(0) {
		t.Errorf("without a disk monitor: node = %v", n)
	}
	wantStatus(t, get(t, srv, "/api/nodes/beatmq@test"), http.StatusOK)
	wantError(t, get(t, srv, "/api/nodes/other@host"), http.StatusNotFound, "Object Not Found", "Not Found")

	var h map[string]any
	r := get(t, srv, "/api/health/checks/alarms")
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &h)
	if h["status"] != "ok" {
		t.Errorf("health = %v", h)
	}
	b.SetUsedMemory(1 << 30)
	r = get(t, srv, "/api/health/checks/alarms")
	wantStatus(t, r, http.StatusServiceUnavailable)
	decode(t, r, &h)
	want := []any{map[string]any{"node": "beatmq@test", "resource": "memory"}}
	if h["status"] != "failed" || !reflect.DeepEqual(h["alarms"], want) {
		t.Errorf("health with alarm = %v", h)
	}

	// The disk alarm too: both listed as RabbitMQ 3.10.8 listed them, disk
	// first, in the health check and in the overview.
	b.SetDisk(mgmt.Disk{Monitored: true, Free: 1000, Limit: 50_000_000, Setting: "50000000", Alarm: true})
	r = get(t, srv, "/api/health/checks/alarms")
	wantStatus(t, r, http.StatusServiceUnavailable)
	h = nil
	decode(t, r, &h)
	want = []any{
		map[string]any{"node": "beatmq@test", "resource": "disk space"},
		map[string]any{"node": "beatmq@test", "resource": "memory"},
	}
	if h["status"] != "failed" || h["reason"] != "There are alarms in effect in the cluster" || !reflect.DeepEqual(h["alarms"], want) {
		t.Errorf("health with both alarms = %v", h)
	}
	var ov map[string]any
	decode(t, get(t, srv, "/api/overview"), &ov)
	if !reflect.DeepEqual(ov["alarms"], want) {
		t.Errorf("overview alarms = %v, want %v", ov["alarms"], want)
	}
	decode(t, get(t, srv, "/api/nodes"), &nodes)
	if n := nodes[0]; n["disk_free_alarm"] != true || n["mem_alarm"] != true || n["disk_free"] != 1000.0 || n["disk_free_limit"] != 50e6 {
		t.Errorf("node with both alarms = %v", n)
	}
}

func TestDiskFreeLimitEndpoint(t *testing.T) {
	srv, b := newServer(t)
	var d mgmt.DiskFreeLimit
	decode(t, get(t, srv, mgmt.DiskFreeLimitPath), &d)
	if d.Limit != "50000000" || d.LimitBytes != 50_000_000 || d.Free != 10<<30 || d.Alarm {
		t.Fatalf("GET = %+v", d)
	}
	wantStatus(t, do(t, srv, http.MethodPut, mgmt.DiskFreeLimitPath, "guest", "guest", nil, `{"limit":"20000000000"}`), http.StatusNoContent)
	decode(t, get(t, srv, mgmt.DiskFreeLimitPath), &d)
	if d.Limit != "20000000000" || d.LimitBytes != 20e9 || !d.Alarm || !b.Disk().Alarm {
		t.Fatalf("after PUT = %+v", d)
	}
	for _, body := range []string{`{}`, `{"limit":""}`, `not json`, `{"limit":"lots"}`} {
		wantStatus(t, do(t, srv, http.MethodPut, mgmt.DiskFreeLimitPath, "guest", "guest", nil, body), http.StatusBadRequest)
	}
}
