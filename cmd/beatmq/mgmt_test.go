package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The management API answers on --mgmt-addr, over the running broker, and
// --vm-memory-high-watermark sets the watermark it reports. The Prometheus
// metrics answer on --prometheus-addr, which the overview lists as
// RabbitMQ lists rabbitmq_prometheus's listener.
func TestMgmtServed(t *testing.T) {
	addr, mgmtAddr, promAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		run(ctx, []string{"--addr", addr, "--mgmt-addr", mgmtAddr, "--prometheus-addr", promAddr, "--vm-memory-high-watermark", "0.3", "--log-file", t.TempDir() + "/log", "--data-dir", t.TempDir()}, &out, &errb)
	})
	defer wg.Wait()
	defer cancel()

	get := func(path string, v any) {
		t.Helper()
		var resp *http.Response
		var err error
		for range 200 {
			req, _ := http.NewRequest(http.MethodGet, "http://"+mgmtAddr+path, nil)
			req.SetBasicAuth("guest", "guest")
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var ov struct {
		ProductName string `json:"product_name"`
		Listeners   []struct {
			Protocol string `json:"protocol"`
			Port     int    `json:"port"`
		} `json:"listeners"`
	}
	get("/api/overview", &ov)
	if ov.ProductName != "beatmq" || len(ov.Listeners) != 3 {
		t.Fatalf("overview %+v", ov)
	}
	if l := ov.Listeners[2]; l.Protocol != "http/prometheus" || strconv.Itoa(l.Port) != promAddr[strings.LastIndexByte(promAddr, ':')+1:] {
		t.Fatalf("prometheus listener %+v, want http/prometheus on %s", l, promAddr)
	}
	resp, err := http.Get("http://" + promAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "\nrabbitmq_resident_memory_limit_bytes ") {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	var wm struct {
		Fraction float64 `json:"fraction"`
		Alarm    bool    `json:"alarm"`
	}
	get("/api/beatmq/vm_memory_high_watermark", &wm)
	if wm.Fraction != 0.3 || wm.Alarm {
		t.Fatalf("watermark %+v", wm)
	}
	var xs []struct {
		Name string `json:"name"`
	}
	get("/api/exchanges", &xs)
	var names []string
	for _, x := range xs {
		names = append(names, x.Name)
	}
	if got := strings.Join(names, ","); got != ",amq.direct,amq.fanout,amq.headers,amq.match,amq.topic" {
		t.Fatalf("exchanges %q", got)
	}
	http.DefaultClient.CloseIdleConnections()
}
