//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// labBroker is a broker of its own for the dead-peer test, listening on the
// lab network's bridge address (the suite's shared broker listens on
// loopback only), with guest allowed from anywhere.
type labBroker interface {
	// URL is the AMQP URL on the lab network.
	URL() string
	// SetAlarm raises (true) or clears the memory alarm, as an operator
	// would: set_vm_memory_high_watermark 0.0000001, then back to 0.4.
	SetAlarm(ctx context.Context, on bool) error
	// States maps each open connection's connection_name to its state
	// (running, blocked...).
	States(ctx context.Context) (map[string]string, error)
	// Ready is the number of messages ready in queue name.
	Ready(ctx context.Context, name string) (int, error)
	// LogPath is the broker's text log.
	LogPath() string
	// PollEvery is how often States may sensibly be asked.
	PollEvery() time.Duration
	// Stop stops the broker (only the process the test started).
	Stop() error
}

// startLabBroker starts the kind of broker BEATMQ_TARGET names, listening on ip.
func startLabBroker(dir, ip string) (labBroker, error) {
	switch kind := os.Getenv("BEATMQ_TARGET"); kind {
	case "", "beatmq":
		return startLabBeatmq(dir, ip)
	case "rabbitmq":
		return startLabRabbitMQ(dir, ip)
	default:
		return nil, fmt.Errorf("BEATMQ_TARGET=%q: want beatmq or rabbitmq", kind)
	}
}

// labBeatmq is the built binary on the lab network, its management API on
// loopback, no data directory.
type labBeatmq struct {
	cmd      *exec.Cmd
	url      string
	mgmtURL  string
	log      string
	exited   chan struct{}
	http     *http.Client
	ctlPath  string
	ctlFlags []string
}

func startLabBeatmq(dir, ip string) (labBroker, error) {
	bin := filepath.Join(repoRoot(), "bin", "beatmq")
	ctl := filepath.Join(repoRoot(), "bin", "beatmqctl")
	for _, p := range []string{bin, ctl} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s not found (run `make build`): %v", p, err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	mgmtPort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	b := &labBeatmq{
		url:     "amqp://guest:guest@" + addr + "/",
		mgmtURL: "http://" + hostPort(mgmtPort),
		log:     filepath.Join(dir, "beatmq-deadpeer.log"),
		exited:  make(chan struct{}),
		http:    &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		ctlPath: ctl,
	}
	b.ctlFlags = []string{"--mgmt-url", b.mgmtURL}
	out, err := os.Create(filepath.Join(dir, "beatmq-deadpeer.out"))
	if err != nil {
		return nil, err
	}
	b.cmd = exec.Command(bin, "--addr", addr, "--mgmt-addr", hostPort(mgmtPort), "--prometheus-addr", "",
		"--loopback-users", "", "--data-dir", "", "--log-file", b.log)
	b.cmd.Stdout, b.cmd.Stderr = out, out
	if err := b.cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() { _ = b.cmd.Wait(); out.Close(); close(b.exited) }()
	if err := waitPort(addr, 10*time.Second, b.exited); err != nil {
		_ = b.Stop()
		return nil, err
	}
	return b, nil
}

func (b *labBeatmq) URL() string              { return b.url }
func (b *labBeatmq) LogPath() string          { return b.log }
func (b *labBeatmq) PollEvery() time.Duration { return 100 * time.Millisecond }

func (b *labBeatmq) SetAlarm(ctx context.Context, on bool) error {
	fraction := "0.4"
	if on {
		fraction = "0.0000001"
	}
	out, err := exec.CommandContext(ctx, b.ctlPath, append(b.ctlFlags, "set_vm_memory_high_watermark", fraction)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("beatmqctl set_vm_memory_high_watermark %s: %v: %s", fraction, err, out)
	}
	return nil
}

func (b *labBeatmq) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.mgmtURL+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth("guest", "guest")
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

func (b *labBeatmq) States(ctx context.Context) (map[string]string, error) {
	var raw []struct {
		State            string         `json:"state"`
		ClientProperties map[string]any `json:"client_properties"`
	}
	if err := b.get(ctx, "/api/connections", &raw); err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, r := range raw {
		name, _ := r.ClientProperties["connection_name"].(string)
		states[name] = r.State
	}
	return states, nil
}

func (b *labBeatmq) Ready(ctx context.Context, name string) (int, error) {
	var raw []struct {
		Name  string `json:"name"`
		Ready int    `json:"messages_ready"`
	}
	if err := b.get(ctx, "/api/queues", &raw); err != nil {
		return 0, err
	}
	for _, q := range raw {
		if q.Name == name {
			return q.Ready, nil
		}
	}
	return 0, fmt.Errorf("no queue %q", name)
}

func (b *labBeatmq) Stop() error { return stopProcess(b.cmd, b.exited, 15*time.Second) }

// labRabbitMQ is a private RabbitMQ node started by scripts/rabbitmq-node.sh
// on the lab network, with its own port, node name and directory.
type labRabbitMQ struct {
	r   *rabbitTarget
	url string
}

func startLabRabbitMQ(dir, ip string) (labBroker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dist, err := freePort()
	if err != nil {
		return nil, err
	}
	node := fmt.Sprintf("beatmq-deadpeer-%d@localhost", os.Getpid())
	r := &rabbitTarget{port: port, node: node, dir: filepath.Join(dir, "rabbitmq-deadpeer")}
	r.env = append(os.Environ(),
		"RMQ_PORT="+strconv.Itoa(port),
		"RMQ_DIST_PORT="+strconv.Itoa(dist),
		"RMQ_NODENAME="+node,
		"RMQ_DIR="+r.dir,
		"RMQ_IP="+ip,
		"RMQ_GUEST_LOOPBACK=false",
		"RMQ_MGMT_PORT=",
		"RMQ_WATCH_PID="+strconv.Itoa(os.Getpid()))
	cmd := r.script("start")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		return nil, fmt.Errorf("scripts/rabbitmq-node.sh start: %v: %s", err, stderr.String())
	}
	return &labRabbitMQ{r: r, url: "amqp://guest:guest@" + net.JoinHostPort(ip, strconv.Itoa(port)) + "/"}, nil
}

func (b *labRabbitMQ) URL() string              { return b.url }
func (b *labRabbitMQ) LogPath() string          { return b.r.LogPath() }
func (b *labRabbitMQ) PollEvery() time.Duration { return time.Second } // each rabbitmqctl call starts a VM
func (b *labRabbitMQ) Stop() error              { return b.r.Stop() }

func (b *labRabbitMQ) SetAlarm(ctx context.Context, on bool) error {
	fraction := "0.4"
	if on {
		fraction = "0.0000001"
	}
	_, err := b.run(ctx, "set_vm_memory_high_watermark", fraction)
	return err
}

// run runs rabbitmqctl ARGS, killed if ctx ends first.
func (b *labRabbitMQ) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := b.r.script(append([]string{"ctl"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			return nil, fmt.Errorf("rabbitmqctl %v: %v: %s", args, err, stderr.String())
		}
		return stdout.Bytes(), nil
	case <-ctx.Done():
		_ = cmd.Process.Kill() // the rabbitmqctl this call started
		<-waited
		return nil, ctx.Err()
	}
}

func (b *labRabbitMQ) States(ctx context.Context) (map[string]string, error) {
	out, err := b.run(ctx, "list_connections", "--formatter", "json", "state", "client_properties")
	if err != nil {
		return nil, err
	}
	var raw []struct {
		State            string  `json:"state"`
		ClientProperties [][]any `json:"client_properties"` // [key, type, value]
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("rabbitmqctl list_connections: %v: %s", err, out)
	}
	states := map[string]string{}
	for _, c := range raw {
		for _, p := range c.ClientProperties {
			if len(p) == 3 && p[0] == "connection_name" {
				name, _ := p[2].(string)
				states[name] = c.State
			}
		}
	}
	return states, nil
}

func (b *labRabbitMQ) Ready(ctx context.Context, name string) (int, error) {
	out, err := b.run(ctx, "list_queues", "--formatter", "json", "name", "messages_ready")
	if err != nil {
		return 0, err
	}
	var raw []struct {
		Name  string `json:"name"`
		Ready int    `json:"messages_ready"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return 0, fmt.Errorf("rabbitmqctl list_queues: %v: %s", err, out)
	}
	for _, q := range raw {
		if q.Name == name {
			return q.Ready, nil
		}
	}
	return 0, fmt.Errorf("no queue %q", name)
}
