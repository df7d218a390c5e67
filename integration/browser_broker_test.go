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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The browser tests (browser_*_test.go) drive the management web page with a
// real headless Chromium. Each starts its own bin/beatmq child process on free
// loopback ports (AMQP and management; no Prometheus listener, no data
// directory) and stops it, by its pid, when it ends.

// skipBrowserOnRabbitMQ skips a browser test when the suite targets RabbitMQ.
func skipBrowserOnRabbitMQ(t *testing.T) {
	t.Helper()
	if os.Getenv("BEATMQ_TARGET") == "rabbitmq" {
		t.Skip("beatmq only: the browser tests check beatmq's own management web page (broker/mgmt/webui), " +
			"served by the bin/beatmq child process they start; RabbitMQ's management UI is a different page")
	}
}

// browserBroker is one bin/beatmq child process of a browser test.
type browserBroker struct {
	cmd      *exec.Cmd
	exited   chan struct{}
	port     int // AMQP
	mgmtPort int
	logPath  string
	outPath  string
	http     *http.Client
}

// startBrowserBroker starts bin/beatmq with --heartbeat heartbeat (seconds)
// and registers its stop. A broker that does not start fails the test.
func startBrowserBroker(t *testing.T, heartbeat int) *browserBroker {
	t.Helper()
	bin := os.Getenv("BEATMQ_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(), "bin", "beatmq")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("beatmq binary %s not found (run `make build`): %v", bin, err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	mgmtPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := &browserBroker{
		port:     port,
		mgmtPort: mgmtPort,
		logPath:  filepath.Join(dir, "beatmq.log"),
		outPath:  filepath.Join(dir, "beatmq.out"),
		exited:   make(chan struct{}),
		http:     &http.Client{Timeout: 10 * time.Second},
	}
	out, err := os.Create(b.outPath)
	if err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command(bin,
		"--addr", hostPort(port),
		"--mgmt-addr", hostPort(mgmtPort),
		"--prometheus-addr", "",
		"--data-dir", "",
		"--heartbeat", strconv.Itoa(heartbeat),
		"--log-format", "text",
		"--log-file", b.logPath)
	b.cmd.Stdout, b.cmd.Stderr = out, out
	if err := b.cmd.Start(); err != nil {
		out.Close()
		t.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); out.Close(); close(b.exited) }()
	t.Cleanup(func() {
		if err := stopProcess(b.cmd, b.exited, 10*time.Second); err != nil {
			t.Error(err)
		}
		b.http.CloseIdleConnections()
		if t.Failed() {
			t.Logf("beatmq log:\n%s", tail(b.logPath, 40))
		}
	})
	for _, addr := range []string{b.Addr(), hostPort(mgmtPort)} {
		if err := waitPort(addr, 10*time.Second, b.exited); err != nil {
			msg, _ := os.ReadFile(b.outPath)
			t.Fatalf("beatmq: %v; output: %s", err, msg)
		}
	}
	return b
}

// tail is the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Addr is the AMQP listener, host:port.
func (b *browserBroker) Addr() string { return hostPort(b.port) }

// MgmtURL is the management listener's base URL, http://127.0.0.1:PORT
// (the web page is at MgmtURL()+"/").
func (b *browserBroker) MgmtURL() string { return "http://" + hostPort(b.mgmtPort) }

// dial opens an amqp091-go connection as guest with its usual client
// properties plus connection_name, and heartbeat hb (0: the broker's).
func (b *browserBroker) dial(name string, hb time.Duration) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props["connection_name"] = name
	cfg := amqp.Config{
		Heartbeat:  hb,
		Properties: props,
		Dial:       amqp.DefaultDial(5 * time.Second),
	}
	return amqp.DialConfig("amqp://guest:guest@"+b.Addr()+"/", cfg)
}

// api sends one management API request as guest and decodes a JSON answer
// into v (if v is not nil and the answer has a body). It returns the status.
func (b *browserBroker) api(ctx context.Context, method, path string, body any, v any) (int, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.MgmtURL()+path, rd)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth("guest", "guest")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	if v != nil && len(msg) > 0 {
		if err := json.Unmarshal(msg, v); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, msg)
		}
	}
	return resp.StatusCode, nil
}

// apiConn is what the browser tests read of one GET /api/connections object.
type apiConn struct {
	Name             string         `json:"name"`
	PeerPort         int            `json:"peer_port"`
	ClientProperties map[string]any `json:"client_properties"`
	Fault            any            `json:"beatmq_fault"`
	SendAge          *float64       `json:"beatmq_heartbeat_send_age_s"`
}

// connections is GET /api/connections.
func (b *browserBroker) connections(ctx context.Context) ([]apiConn, error) {
	var conns []apiConn
	_, err := b.api(ctx, http.MethodGet, "/api/connections", nil, &conns)
	return conns, err
}

// connName waits (up to 10 s) until the broker lists the connection whose
// client end is c, and returns its name ("127.0.0.1:P -> 127.0.0.1:Q").
func (b *browserBroker) connName(t *testing.T, c *amqp.Connection) string {
	t.Helper()
	local := c.LocalAddr().String()
	var name string
	pollUntil(t, 10*time.Second, "the broker lists the connection from "+local, func() (bool, error) {
		conns, err := b.connections(context.Background())
		if err != nil {
			return false, err
		}
		for _, k := range conns {
			if strings.HasPrefix(k.Name, local+" -> ") {
				name = k.Name
				return true, nil
			}
		}
		return false, nil
	})
	return name
}

// conn is the connection called name as GET /api/connections lists it, or
// nil.
func (b *browserBroker) conn(ctx context.Context, name string) (*apiConn, error) {
	conns, err := b.connections(ctx)
	if err != nil {
		return nil, err
	}
	for i := range conns {
		if conns[i].Name == name {
			return &conns[i], nil
		}
	}
	return nil, nil
}

// hasConn tells whether the broker lists a connection called name.
func (b *browserBroker) hasConn(ctx context.Context, name string) (bool, error) {
	c, err := b.conn(ctx, name)
	return c != nil, err
}

// apiQueue is what the browser tests read of GET /api/queues/{vhost}/{name}.
type apiQueue struct {
	Name     string `json:"name"`
	Messages int    `json:"messages"`
}

// queue is GET /api/queues/%2F/{name}.
func (b *browserBroker) queue(ctx context.Context, name string) (apiQueue, error) {
	var q apiQueue
	_, err := b.api(ctx, http.MethodGet, "/api/queues/%2F/"+url.PathEscape(name), nil, &q)
	return q, err
}

// pollUntil calls cond every 50 ms until it returns true, failing the test
// when timeout passes first (with cond's last error, if any).
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			if last != nil {
				t.Fatalf("not within %v: %s (last error: %v)", timeout, what, last)
			}
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
