//go:build integration

package integration

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The crash tests (TestCrashKill9, TestCrashTornTail, TestDurableKill9Pika)
// start bin/beatmq as their own child process on a data directory of their
// own, kill it with SIGKILL (that pid only, never anything found by name) and
// start it again on the same directory. They run against beatmq only: the
// suite's RabbitMQ node is not a child process they could kill.

// skipOnRabbitMQ skips the crash tests when the suite targets RabbitMQ.
func skipOnRabbitMQ(t *testing.T) {
	t.Helper()
	if os.Getenv("BEATMQ_TARGET") == "rabbitmq" {
		t.Skip("beatmq only: this test SIGKILLs the beatmq child process it started and restarts it on the same --data-dir; " +
			"with BEATMQ_TARGET=rabbitmq there is no such process (the node belongs to scripts/rabbitmq-node.sh)")
	}
}

// crashBroker is one bin/beatmq child process, restartable on the same
// data directory and log file.
type crashBroker struct {
	t       testing.TB
	bin     string
	dir     string // everything of this test: data/, beatmq.log, beatmq.out
	dataDir string
	logPath string
	outPath string
	port    int
	sync    string // --sync of the running (or last) process
	format  string // --log-format (text unless set before start)
	starts  int    // processes started so far: the broker's "epoch"

	cmd    *exec.Cmd
	exited chan struct{}
}

// newCrashBroker prepares a broker in a fresh directory under the suite's
// work directory (kept when the run fails or BEATMQ_KEEP is set). The
// process, if still running when the test ends, is killed.
func newCrashBroker(t *testing.T, name string) *crashBroker {
	t.Helper()
	bin := os.Getenv("BEATMQ_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(), "bin", "beatmq")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("beatmq binary %s not found (run `make build`): %v", bin, err)
	}
	base := workDir
	if base == "" {
		base = t.TempDir()
	}
	dir := filepath.Join(base, name)
	if err := os.RemoveAll(dir); err != nil { // -count=N reuses the name
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &crashBroker{
		t:       t,
		bin:     bin,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "beatmq.log"),
		outPath: filepath.Join(dir, "beatmq.out"),
	}
	t.Cleanup(func() { _ = b.kill() })
	return b
}

// portFree reports whether port can be listened on now.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", hostPort(port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// start starts the broker with --sync mode on the same port as before if
// it is free (else on a new one) and waits until it accepts connections,
// which it does only once the store is recovered.
func (b *crashBroker) start(mode string) error {
	if b.running() {
		return errors.New("crash broker: start while running")
	}
	reuse := b.port != 0 && portFree(b.port)
	if !reuse {
		p, err := freePort()
		if err != nil {
			return err
		}
		b.port = p
	}
	err := b.startOn(mode)
	if err != nil && reuse {
		// The old port was taken between the check and the listen.
		b.t.Logf("restart on port %d failed (%v); trying a new port", b.port, err)
		p, perr := freePort()
		if perr != nil {
			return perr
		}
		b.port = p
		err = b.startOn(mode)
	}
	return err
}

func (b *crashBroker) startOn(mode string) error {
	out, err := os.OpenFile(b.outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "--- start %d: --sync %s, port %d, %s\n", b.starts+1, mode, b.port, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(b.bin,
		"--addr", hostPort(b.port),
		"--mgmt-addr", "",
		"--prometheus-addr", "",
		"--heartbeat", "60",
		"--log-format", cmp.Or(b.format, "text"),
		"--log-file", b.logPath,
		"--data-dir", b.dataDir,
		"--sync", mode)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(exited) }()
	b.cmd, b.exited, b.sync = cmd, exited, mode
	b.starts++
	if err := waitPort(b.addr(), 60*time.Second, exited); err != nil {
		_ = b.kill()
		return fmt.Errorf("%v; output:\n%s", err, b.output())
	}
	return nil
}

func (b *crashBroker) running() bool {
	if b.cmd == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the process this broker started (and nothing
// else) and waits for it to be gone.
func (b *crashBroker) kill() error {
	if !b.running() {
		return nil
	}
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-b.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("beatmq pid %d still there 30s after SIGKILL", b.cmd.Process.Pid)
	}
}

func (b *crashBroker) addr() string { return hostPort(b.port) }
func (b *crashBroker) url() string  { return "amqp://guest:guest@" + b.addr() + "/" }

// output is the tail of the processes' stdout and stderr.
func (b *crashBroker) output() string {
	raw, _ := os.ReadFile(b.outPath)
	s := strings.TrimSpace(string(raw))
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

// dial opens an amqp091-go connection to the broker.
func (b *crashBroker) dial(name string) (*amqp.Connection, error) {
	return amqp.DialConfig(b.url(), amqp.Config{
		Heartbeat:  10 * time.Second,
		Dial:       amqp.DefaultDial(10 * time.Second),
		Properties: amqp.Table{"connection_name": name},
	})
}

// channel dials the broker and opens a channel; the caller closes the
// connection.
func (b *crashBroker) channel(name string) (*amqp.Connection, *amqp.Channel, error) {
	conn, err := b.dial(name)
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return conn, ch, nil
}

// newestSegment is the path of the last segment file of the message store
// (DIR/msgs/NNNNNNNN.seg, names sort in log order).
func (b *crashBroker) newestSegment() (string, error) {
	segs, err := filepath.Glob(filepath.Join(b.dataDir, "msgs", "*.seg"))
	if err != nil {
		return "", err
	}
	if len(segs) == 0 {
		return "", fmt.Errorf("no segment file in %s", filepath.Join(b.dataDir, "msgs"))
	}
	slices.Sort(segs)
	return segs[len(segs)-1], nil
}
