//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// brokerConn is the broker's own view of one connection.
type brokerConn struct {
	Name           string // "127.0.0.1:P -> 127.0.0.1:Q" (RabbitMQ's name field)
	PeerPort       int
	ConnectionName string // the connection_name client property, if any
	Timeout        int    // the heartbeat the broker uses for this connection, seconds
	SSL            bool   // the connection came in over TLS
}

// target is the broker under test.
type target interface {
	// Kind is "beatmq" or "rabbitmq".
	Kind() string
	// Addr is the AMQP listener, host:port.
	Addr() string
	// Port is the AMQP port.
	Port() int
	// TLSPort is the amqps listener's port; its certificate (for 127.0.0.1
	// and localhost) is signed by the CA in TLSCA. Client certificates are
	// not asked for.
	TLSPort() int
	// TLSCA is the PEM file of the CA that signed the broker's certificate.
	TLSCA() string
	// LogPath is the broker's text log.
	LogPath() string
	// MetricsURL is the broker's Prometheus endpoint
	// (http://127.0.0.1:PORT/metrics): beatmq's --prometheus-addr,
	// RabbitMQ's rabbitmq_prometheus plugin.
	MetricsURL() string
	// Connections lists the broker's view of its connections.
	Connections(ctx context.Context) ([]brokerConn, error)
	// Stop stops the broker (only the process the suite started).
	Stop() error
}

// repoRoot is the repository root; go test runs in integration/.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ".."
	}
	return filepath.Dir(wd)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func envInt(name string, def func() (int, error)) (int, error) {
	if v := os.Getenv(name); v != "" {
		return strconv.Atoi(v)
	}
	return def()
}

// waitPort waits until addr accepts TCP connections, the process exits, or the
// timeout passes.
func waitPort(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("the broker process exited during startup")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s does not accept connections after %v", addr, timeout)
}

// startTarget starts the broker that BEATMQ_TARGET names (default beatmq).
func startTarget(dir string) (target, error) {
	switch kind := os.Getenv("BEATMQ_TARGET"); kind {
	case "", "beatmq":
		return startBeatmq(dir)
	case "rabbitmq":
		return startRabbitMQ(dir)
	default:
		return nil, fmt.Errorf("BEATMQ_TARGET=%q: want beatmq or rabbitmq", kind)
	}
}

// beatmqTarget is the built binary, started with a free AMQP port, a free
// management port (its HTTP API gives the broker's view of connections), a
// free Prometheus port and a text log file.
type beatmqTarget struct {
	cmd      *exec.Cmd
	port     int
	mgmtPort int
	promPort int
	tlsPort  int
	tlsCA    string
	log      string
	exited   chan struct{}
	http     *http.Client
}

func startBeatmq(dir string) (target, error) {
	bin := os.Getenv("BEATMQ_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(), "bin", "beatmq")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("beatmq binary %s not found (run `make build`, or set BEATMQ_TARGET=rabbitmq): %v", bin, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	mgmtPort, err := freePort()
	if err != nil {
		return nil, err
	}
	promPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tf, err := makeTLSFiles(dir)
	if err != nil {
		return nil, err
	}
	b := &beatmqTarget{
		port:     port,
		mgmtPort: mgmtPort,
		promPort: promPort,
		tlsPort:  tlsPort,
		tlsCA:    tf.ca,
		log:      filepath.Join(dir, "beatmq.log"),
		exited:   make(chan struct{}),
		http:     &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
	out, err := os.Create(filepath.Join(dir, "beatmq.out"))
	if err != nil {
		return nil, err
	}
	b.cmd = exec.Command(bin,
		"--addr", hostPort(port),
		"--mgmt-addr", hostPort(mgmtPort),
		"--prometheus-addr", hostPort(promPort),
		"--tls-addr", hostPort(tlsPort),
		"--tls-cert", tf.cert,
		"--tls-key", tf.key,
		"--tls-ca", tf.ca,
		"--heartbeat", "60",
		"--log-format", "text",
		"--log-file", b.log,
		"--data-dir", b.log+".data")
	b.cmd.Stdout, b.cmd.Stderr = out, out
	if err := b.cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() { _ = b.cmd.Wait(); out.Close(); close(b.exited) }()
	err = waitPort(b.Addr(), 10*time.Second, b.exited)
	if err == nil {
		err = waitPort(hostPort(tlsPort), 10*time.Second, b.exited)
	}
	if err != nil {
		_ = b.Stop()
		msg, _ := os.ReadFile(filepath.Join(dir, "beatmq.out"))
		return nil, fmt.Errorf("%v; output: %s", err, msg)
	}
	return b, nil
}

func (b *beatmqTarget) Kind() string    { return "beatmq" }
func (b *beatmqTarget) Addr() string    { return hostPort(b.port) }
func (b *beatmqTarget) Port() int       { return b.port }
func (b *beatmqTarget) TLSPort() int    { return b.tlsPort }
func (b *beatmqTarget) TLSCA() string   { return b.tlsCA }
func (b *beatmqTarget) LogPath() string { return b.log }
func (b *beatmqTarget) MetricsURL() string {
	return "http://" + hostPort(b.promPort) + "/metrics"
}

// Connections reads GET /api/connections, whose objects follow RabbitMQ's
// management API (name, peer_port, timeout, client_properties).
func (b *beatmqTarget) Connections(ctx context.Context) ([]brokerConn, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort(b.mgmtPort)+"/api/connections", nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth("guest", "guest")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("beatmq management API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("beatmq management API: GET /api/connections: %s: %s", resp.Status, body)
	}
	var raw []struct {
		Name             string         `json:"name"`
		PeerPort         int            `json:"peer_port"`
		Timeout          int            `json:"timeout"`
		SSL              bool           `json:"ssl"`
		ClientProperties map[string]any `json:"client_properties"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("beatmq management API: %v: %s", err, body)
	}
	conns := make([]brokerConn, 0, len(raw))
	for _, r := range raw {
		name, _ := r.ClientProperties["connection_name"].(string)
		conns = append(conns, brokerConn{Name: r.Name, PeerPort: r.PeerPort, ConnectionName: name, Timeout: r.Timeout, SSL: r.SSL})
	}
	return conns, nil
}

func (b *beatmqTarget) Stop() error { return stopProcess(b.cmd, b.exited, 10*time.Second) }

// stopProcess stops a broker process this test started: SIGTERM, then
// SIGKILL if it has not exited (exited closed) within grace.
func stopProcess(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) error {
	select {
	case <-exited:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("beatmq did not stop within %v of SIGTERM; killed", grace)
	}
}

// rabbitTarget is a private RabbitMQ node started by scripts/rabbitmq-node.sh
// on its own port, node name and directory. BEATMQ_RABBITMQ_PORT and
// BEATMQ_RABBITMQ_NODE choose them (defaults: a free port, a name unique to
// this process).
type rabbitTarget struct {
	env      []string
	port     int
	promPort int
	tlsPort  int
	tlsCA    string
	node     string
	dir      string
}

func startRabbitMQ(dir string) (target, error) {
	port, err := envInt("BEATMQ_RABBITMQ_PORT", freePort)
	if err != nil {
		return nil, err
	}
	dist, err := freePort()
	if err != nil {
		return nil, err
	}
	promPort, err := freePort()
	if err != nil {
		return nil, err
	}
	node := os.Getenv("BEATMQ_RABBITMQ_NODE")
	if node == "" {
		node = fmt.Sprintf("beatmq-interop-%d@localhost", os.Getpid())
	}
	tlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tf, err := makeTLSFiles(dir)
	if err != nil {
		return nil, err
	}
	r := &rabbitTarget{port: port, promPort: promPort, tlsPort: tlsPort, tlsCA: tf.ca, node: node, dir: filepath.Join(dir, "rabbitmq")}
	// The amqps listener as RabbitMQ's TLS guide configures it, without
	// client certificates (verify_none), like beatmq's default.
	conf := strings.Join([]string{
		"listeners.ssl.default = " + hostPort(tlsPort),
		"ssl_options.cacertfile = " + tf.ca,
		"ssl_options.certfile = " + tf.cert,
		"ssl_options.keyfile = " + tf.key,
		"ssl_options.verify = verify_none",
		"ssl_options.fail_if_no_peer_cert = false",
	}, "\n")
	r.env = append(os.Environ(),
		"RMQ_PORT="+strconv.Itoa(port),
		"RMQ_DIST_PORT="+strconv.Itoa(dist),
		"RMQ_NODENAME="+node,
		"RMQ_DIR="+r.dir,
		"RMQ_MGMT_PORT=",
		"RMQ_PROM_PORT="+strconv.Itoa(promPort),
		"RMQ_CONF="+conf,
		"RMQ_WATCH_PID="+strconv.Itoa(os.Getpid()))
	cmd := r.script("start")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		return nil, fmt.Errorf("scripts/rabbitmq-node.sh start: %v: %s", err, stderr.String())
	}
	if err := waitPort(hostPort(tlsPort), 30*time.Second, nil); err != nil {
		_ = r.Stop()
		return nil, fmt.Errorf("RabbitMQ's amqps listener: %v", err)
	}
	return r, nil
}

func (r *rabbitTarget) script(args ...string) *exec.Cmd {
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(), "scripts", "rabbitmq-node.sh")}, args...)...)
	cmd.Env = r.env
	return cmd
}

func (r *rabbitTarget) Kind() string    { return "rabbitmq" }
func (r *rabbitTarget) Addr() string    { return hostPort(r.port) }
func (r *rabbitTarget) Port() int       { return r.port }
func (r *rabbitTarget) TLSPort() int    { return r.tlsPort }
func (r *rabbitTarget) TLSCA() string   { return r.tlsCA }
func (r *rabbitTarget) LogPath() string { return filepath.Join(r.dir, "log", r.node+".log") }
func (r *rabbitTarget) MetricsURL() string {
	return "http://" + hostPort(r.promPort) + "/metrics"
}

// Connections runs rabbitmqctl list_connections with the JSON formatter.
func (r *rabbitTarget) Connections(ctx context.Context) ([]brokerConn, error) {
	cmd := r.script("ctl", "list_connections", "--formatter", "json", "name", "peer_port", "timeout", "ssl", "client_properties")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			if cmd.Process != nil {
				_ = cmd.Process.Kill()
			}
		case <-done:
		}
	}()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("rabbitmqctl list_connections: %v: %s", err, stderr.String())
	}
	var raw []struct {
		Name             string  `json:"name"`
		PeerPort         int     `json:"peer_port"`
		Timeout          int     `json:"timeout"`
		SSL              bool    `json:"ssl"`
		ClientProperties [][]any `json:"client_properties"` // [key, type, value]
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("rabbitmqctl list_connections: %v: %s", err, out)
	}
	conns := make([]brokerConn, 0, len(raw))
	for _, c := range raw {
		bc := brokerConn{Name: c.Name, PeerPort: c.PeerPort, Timeout: c.Timeout, SSL: c.SSL}
		for _, p := range c.ClientProperties {
			if len(p) == 3 && p[0] == "connection_name" {
				bc.ConnectionName, _ = p[2].(string)
			}
		}
		conns = append(conns, bc)
	}
	return conns, nil
}

func (r *rabbitTarget) Stop() error {
	out, err := r.script("stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/rabbitmq-node.sh stop: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
