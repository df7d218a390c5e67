//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// deadPeerClientEnv, when set, turns the test binary into one of the
// dead-peer test's clients (TestMain runs deadPeerClient for "consume",
// deadPeerStallClient for "stall", instead of the tests), so the test can
// start it inside a network namespace with `ip netns exec`.
const deadPeerClientEnv = "BEATMQ_DEADPEER_CLIENT"

// deadPeerClient is an amqp091-go client that consumes 3 messages from
// BEATMQ_DEADPEER_QUEUE without acking them and prints "consumed 3"; then,
// for each "publish" line on stdin, publishes (unroutable messages, every
// 500 ms, at most 40) until the broker sends connection.blocked, and prints
// "blocked" (or "not blocked"). It keeps its connection open until stdin
// closes or it is killed. Errors are printed as "error: ...".
func deadPeerClient() int {
	hb, err := time.ParseDuration(os.Getenv("BEATMQ_DEADPEER_HEARTBEAT"))
	if err != nil {
		fmt.Println("error: heartbeat:", err)
		return 1
	}
	conn, err := amqp091.DialConfig(os.Getenv("BEATMQ_DEADPEER_URL"), amqp091.Config{
		Heartbeat:  hb,
		Properties: amqp091.Table{"connection_name": os.Getenv("BEATMQ_DEADPEER_NAME")},
		Dial:       amqp091.DefaultDial(10 * time.Second),
	})
	if err != nil {
		fmt.Println("error: dial:", err)
		return 1
	}
	blocked := conn.NotifyBlocked(make(chan amqp091.Blocking, 8))
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Qos(3, 0, false)
	}
	var deliveries <-chan amqp091.Delivery
	if err == nil {
		deliveries, err = ch.Consume(os.Getenv("BEATMQ_DEADPEER_QUEUE"), "", false, false, false, false, nil)
	}
	if err != nil {
		fmt.Println("error: consume:", err)
		return 1
	}
	for range 3 {
		select {
		case <-deliveries:
		case <-time.After(20 * time.Second):
			fmt.Println("error: fewer than 3 deliveries in 20 s")
			return 1
		}
	}
	fmt.Println("consumed 3")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "publish" {
			continue
		}
		got := false
		for i := 0; i < 40 && !got; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = ch.PublishWithContext(ctx, "", "beatmq-deadpeer-nowhere", false, false, amqp091.Publishing{Body: []byte("x")})
			cancel()
			select {
			case b := <-blocked:
				got = b.Active
			case <-time.After(500 * time.Millisecond):
			}
		}
		if got {
			fmt.Println("blocked")
		} else {
			fmt.Println("not blocked")
		}
	}
	return 0 // stdin closed: leave without closing, as a vanished host would
}

// peerProc is a dead-peer client process started by the test.
type peerProc struct {
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	lines chan string
	mu    sync.Mutex
	out   []string // everything it printed
}

// startPeer starts the test binary as a dead-peer client of the given mode
// ("consume" or "stall") through cmd (an `ip netns exec` command), with the
// given connection settings. It is killed when the test ends.
func startPeer(t *testing.T, cmd *exec.Cmd, mode, url, name, queue string, heartbeat time.Duration) *peerProc {
	t.Helper()
	cmd.Env = append(os.Environ(),
		deadPeerClientEnv+"="+mode,
		"BEATMQ_DEADPEER_URL="+url,
		"BEATMQ_DEADPEER_NAME="+name,
		"BEATMQ_DEADPEER_QUEUE="+queue,
		"BEATMQ_DEADPEER_HEARTBEAT="+heartbeat.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peerProc{cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill() // the process this test started, by its pid
		_ = cmd.Wait()
		<-done
	})
	return p
}

// expect waits up to timeout for the client to print want; anything else it
// prints first (an error) fails the test.
func (p *peerProc) expect(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("the client exited before printing %q (printed %q)", want, p.printed())
		}
		if line != want {
			t.Fatalf("the client printed %q, want %q", line, want)
		}
	case <-time.After(timeout):
		t.Fatalf("the client did not print %q within %v (printed %q)", want, timeout, p.printed())
	}
}

func (p *peerProc) printed() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.out, " | ")
}

// send writes a command line to the client.
func (p *peerProc) send(t *testing.T, line string) {
	t.Helper()
	if _, err := p.stdin.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
}
