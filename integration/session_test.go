//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// programLine is one JSON line of a scenario program.
type programLine struct {
	Event         string   `json:"event"` // "open" or "result"
	Client        string   `json:"client"`
	Scenario      string   `json:"scenario"`
	Heartbeat     *int     `json:"heartbeat"`
	Library       string   `json:"library"` // "open": library and runtime versions
	T             float64  `json:"t"`
	Published     int      `json:"published"`
	Confirmed     int      `json:"confirmed"`
	Received      int      `json:"received"`
	PayloadErrors int      `json:"payload_errors"`
	MaxDelay      float64  `json:"max_delay"` // watch: longest publish-to-delivery time, seconds
	Closed        bool     `json:"closed"`
	Alive         *bool    `json:"alive"`
	Error         string   `json:"error"`
	ErrorType     string   `json:"error_type"`
	TDetect       *float64 `json:"t_detect"`
	TError        *float64 `json:"t_error"`
	TEnd          float64  `json:"t_end"`
	Raw           string   `json:"-"`
}

// when converts a program's epoch-seconds timestamp.
func when(sec float64) time.Time {
	return time.Unix(0, int64(sec*1e9))
}

// session is one running scenario program.
type session struct {
	client string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	cancel context.CancelFunc

	open   chan programLine // the "open" line, at most one
	result chan programLine // the "result" line, at most one
	exited chan struct{}

	mu     sync.Mutex
	stderr bytes.Buffer
	lines  []string
	werr   error
}

// lockedWriter is an io.Writer into a buffer guarded by mu.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startSession runs cmd (a scenario program), killed after limit at the latest.
func startSession(t testing.TB, c *client, cmd *exec.Cmd, limit time.Duration) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	s := &session{
		client: c.Name,
		cancel: cancel,
		open:   make(chan programLine, 1),
		result: make(chan programLine, 1),
		exited: make(chan struct{}),
	}
	// Rebuild the command under the context so the limit applies.
	s.cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	s.cmd.Env, s.cmd.Dir = cmd.Env, cmd.Dir
	s.cmd.WaitDelay = 2 * time.Second
	s.cmd.Stderr = lockedWriter{&s.mu, &s.stderr}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("%s: %v", c.Name, err)
	}
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatalf("%s: %v", c.Name, err)
	}
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: start %s: %v", c.Name, cmd.Path, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.lines = append(s.lines, line)
			s.mu.Unlock()
			var pl programLine
			if json.Unmarshal([]byte(line), &pl) != nil {
				continue
			}
			pl.Raw = line
			switch pl.Event {
			case "open":
				select {
				case s.open <- pl:
				default:
				}
			case "result":
				select {
				case s.result <- pl:
				default:
				}
			}
		}
		werr := s.cmd.Wait()
		s.mu.Lock()
		s.werr = werr
		s.mu.Unlock()
		cancel()
		close(s.exited)
	}()
	t.Cleanup(func() { s.Kill() })
	return s
}

// run starts c's program for a.
func run(t testing.TB, c *client, a scenarioArgs, limit time.Duration) *session {
	t.Helper()
	if err := c.Prepare(); err != nil {
		t.Fatalf("%s: preparing the scenario program: %v", c.Name, err)
	}
	return startSession(t, c, c.command(a), limit)
}

// WaitOpen waits for the "open" line.
func (s *session) WaitOpen(timeout time.Duration) (programLine, error) {
	select {
	case pl := <-s.open:
		return pl, nil
	case pl := <-s.result:
		return pl, fmt.Errorf("%s ended before the connection opened: %s%s", s.client, pl.Raw, s.Stderr())
	case <-s.exited:
		select {
		case pl := <-s.result:
			return pl, fmt.Errorf("%s ended before the connection opened: %s%s", s.client, pl.Raw, s.Stderr())
		default:
		}
		return programLine{}, fmt.Errorf("%s exited without an open line (%v)%s", s.client, s.exitErr(), s.Stderr())
	case <-time.After(timeout):
		return programLine{}, fmt.Errorf("%s: no open line after %v%s", s.client, timeout, s.Stderr())
	}
}

// Stop tells the program to finish (a line on stdin, then EOF).
func (s *session) Stop() {
	_, _ = io.WriteString(s.stdin, "close\n")
	_ = s.stdin.Close()
}

// Result waits for the "result" line.
func (s *session) Result(timeout time.Duration) (programLine, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case pl := <-s.result:
		return pl, nil
	case <-s.exited:
		select {
		case pl := <-s.result:
			return pl, nil
		default:
		}
		return programLine{}, fmt.Errorf("%s exited without a result line (%v)%s", s.client, s.exitErr(), s.Stderr())
	case <-timer.C:
		return programLine{}, fmt.Errorf("%s: no result line after %v%s", s.client, timeout, s.Stderr())
	}
}

// Kill ends the program if it still runs and waits for it.
func (s *session) Kill() {
	s.cancel()
	<-s.exited
}

func (s *session) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.werr
}

// Stderr returns the program's stderr, prefixed for an error message ("" if empty).
func (s *session) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := strings.TrimSpace(s.stderr.String())
	if e == "" {
		return ""
	}
	if len(e) > 4000 {
		e = e[len(e)-4000:]
	}
	return "\nstderr:\n" + e
}
