//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The amqp-tools programs (librabbitmq's amqp-declare-queue, amqp-publish,
// amqp-consume, amqp-delete-queue) take --heartbeat but print nothing about the
// connection, so their rows rely on the broker's view and on exit codes. They
// cannot set a connection name: a relay in front of the broker identifies their
// connection by its broker-side port where a scenario needs that.

// toolsURL is the URL for a broker or relay port (no trailing slash: with one,
// librabbitmq asks for the vhost "").
func toolsURL(port int) string { return "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(port) }

// tools runs one amqp-tools program to completion.
func tools(ctx context.Context, stdin string, prog string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.WaitDelay = time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// toolsProc is a running amqp-consume.
type toolsProc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	exited chan struct{}
	endAt  time.Time

	mu       sync.Mutex
	out, err bytes.Buffer
	werr     error
}

// startConsume runs amqp-consume on queue with manual acks, exiting after count
// messages; each body is written to stdout by `cat`. url is the broker's (or
// a relay's); conn are extra connection options (--cacert=…).
func startConsume(t *testing.T, url string, heartbeat int, queue string, count int, limit time.Duration, conn ...string) *toolsProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	p := &toolsProc{cancel: cancel, exited: make(chan struct{})}
	args := append([]string{"--url", url, "--heartbeat=" + strconv.Itoa(heartbeat)}, conn...)
	p.cmd = exec.CommandContext(ctx, "amqp-consume", append(args, "-q", queue, "-c", strconv.Itoa(count), "-p", "100", "cat")...)
	p.cmd.WaitDelay = time.Second
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{&p.mu, &p.out}, lockedWriter{&p.mu, &p.err}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("amqp-consume: %v", err)
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.werr, p.endAt = err, time.Now()
		p.mu.Unlock()
		cancel()
		close(p.exited)
	}()
	t.Cleanup(func() { p.cancel(); <-p.exited })
	return p
}

// Wait waits for the program to exit; it returns stdout, stderr and the exit error.
func (p *toolsProc) Wait(timeout time.Duration) (stdout, stderr string, err error, ok bool) {
	select {
	case <-p.exited:
	case <-time.After(timeout):
		return "", "", nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String(), strings.TrimSpace(p.err.String()), p.werr, true
}

// Running reports whether the program has not exited yet.
func (p *toolsProc) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// declareQueue declares a plain (non-exclusive) queue and deletes it at cleanup.
func declareQueue(t *testing.T, brokerPort int, queue string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := tools(ctx, "", "amqp-declare-queue", "--url", toolsURL(brokerPort), "-q", queue); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := tools(ctx, "", "amqp-delete-queue", "--url", toolsURL(brokerPort), "-q", queue); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// publishOne publishes body to queue through the default exchange.
func publishOne(t *testing.T, brokerPort int, queue, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := tools(ctx, "", "amqp-publish", "--url", toolsURL(brokerPort), "-r", queue, "-b", body); err != nil {
		t.Fatal(err)
	}
}

// waitBrokerConn polls the broker's view until match finds a connection.
func waitBrokerConn(t *testing.T, b target, timeout time.Duration, match func(brokerConn) bool) (brokerConn, error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		conns, err := b.Connections(ctx)
		cancel()
		if err == nil {
			for _, c := range conns {
				if match(c) {
					return c, nil
				}
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("the broker does not list the connection (it lists %d)", len(conns))
			}
			return brokerConn{}, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
