//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// faultSpec is a fault as the management API takes it (PUT
// /api/beatmq/connections/{name}/fault).
type faultSpec struct {
	Kind    string        // mute-heartbeats, slow-heartbeats, freeze-out, ...
	For     time.Duration // 0: until cleared
	Factor  float64       // slow-heartbeats: heartbeats every Factor·T/2
	Latency time.Duration // latency: delay on every outbound write
}

// body is the JSON body of the PUT.
func (f faultSpec) body() ([]byte, error) {
	m := map[string]any{"kind": f.Kind}
	if f.For > 0 {
		m["for"] = f.For.String()
	}
	if f.Factor > 0 {
		m["factor"] = f.Factor
	}
	if f.Latency > 0 {
		m["latency"] = f.Latency.String()
	}
	return json.Marshal(m)
}

// faultPath is the management API path of the fault of connection name.
func (b *beatmqTarget) faultPath(name string) string {
	return "http://" + hostPort(b.mgmtPort) + "/api/beatmq/connections/" + url.PathEscape(name) + "/fault"
}

// SetFault injects f into the connection called name (its connection_name
// client property, or the name /api/connections gives it).
func (b *beatmqTarget) SetFault(ctx context.Context, name string, f faultSpec) error {
	body, err := f.body()
	if err != nil {
		return err
	}
	return b.faultRequest(ctx, http.MethodPut, name, body)
}

// ClearFault ends the fault injected into the connection called name.
func (b *beatmqTarget) ClearFault(ctx context.Context, name string) error {
	return b.faultRequest(ctx, http.MethodDelete, name, nil)
}

func (b *beatmqTarget) faultRequest(ctx context.Context, method, name string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, b.faultPath(name), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("guest", "guest")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("beatmq management API: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return &apiError{Status: resp.StatusCode, Msg: fmt.Sprintf("%s %s: %s: %s", method, b.faultPath(name), resp.Status, msg)}
	}
	return nil
}

// apiError is a management API answer other than 204.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return "beatmq management API: " + e.Msg }
