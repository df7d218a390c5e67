package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// --disk-free-limit above the free space raises the disk alarm at startup;
// the management API shows it and lowers the limit at run time, and the log
// has RabbitMQ's lines.
func TestDiskFreeLimitFlag(t *testing.T) {
	addr, mgmtAddr := freeAddr(t), freeAddr(t)
	logFile := t.TempDir() + "/log"
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		run(ctx, []string{"--addr", addr, "--mgmt-addr", mgmtAddr, "--prometheus-addr", "", "--disk-free-limit", "1000000GB",
			"--log-file", logFile, "--data-dir", t.TempDir()}, &out, &errb)
	})
	defer wg.Wait()
	defer cancel()

	call := func(method, path, body string, v any) int {
		t.Helper()
		var resp *http.Response
		var err error
		for range 200 {
			req, _ := http.NewRequest(method, "http://"+mgmtAddr+path, strings.NewReader(body))
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
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	var nodes []struct {
		DiskFree      uint64 `json:"disk_free"`
		DiskFreeLimit uint64 `json:"disk_free_limit"`
		DiskFreeAlarm bool   `json:"disk_free_alarm"`
		MemAlarm      bool   `json:"mem_alarm"`
	}
	call(http.MethodGet, "/api/nodes", "", &nodes)
	if len(nodes) != 1 || !nodes[0].DiskFreeAlarm || nodes[0].MemAlarm || nodes[0].DiskFreeLimit != 1e15 || nodes[0].DiskFree == 0 {
		t.Fatalf("nodes %+v", nodes)
	}
	var health struct {
		Alarms []struct{ Node, Resource string } `json:"alarms"`
	}
	if code := call(http.MethodGet, "/api/health/checks/alarms", "", &health); code != http.StatusServiceUnavailable ||
		len(health.Alarms) != 1 || health.Alarms[0].Resource != "disk space" {
		t.Fatalf("health %d %+v", code, health)
	}
	if code := call(http.MethodPut, "/api/beatmq/disk_free_limit", `{"limit":"50MB"}`, nil); code != http.StatusNoContent {
		t.Fatalf("PUT disk_free_limit: %d", code)
	}
	if code := call(http.MethodGet, "/api/health/checks/alarms", "", nil); code != http.StatusOK {
		t.Fatalf("health after lowering the limit: %d", code)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	wg.Wait()
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[info] <0.0.0> Memory high watermark set to ",
		"[info] <0.0.0> Enabling free disk space monitoring\n",
		"[info] <0.0.0> Disk free limit set to 1000000000MB\n",
		"[info] <0.0.0> Free disk space is insufficient. Free bytes: ",
		". Limit: 1000000000000000\n",
		"[warning] <0.0.0> disk resource limit alarm set on node ",
		"[info] <0.0.0> Disk free limit set to 50MB\n",
		"[info] <0.0.0> Free disk space is sufficient. Free bytes: ",
		"[warning] <0.0.0> disk resource limit alarm cleared across the cluster\n",
	} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
