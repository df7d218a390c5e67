package broker_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/frames"
)

// The connection state machine on the bubble's clock: each test serves one
// connection over net.Pipe with Server.ServeConn inside testing/synctest, so
// that every protocol timer runs on fake time and can be checked to the
// nanosecond, with RabbitMQ's real timeouts (seconds) and no sleeps. Fake
// time starts at 2000-01-01 00:00:00 UTC and moves only when every goroutine
// of the bubble is blocked, so the time something happens is exact.

// pipeConn serves the server end of a net.Pipe on srv and returns the
// scripted client end and a channel closed when ServeConn has returned.
func pipeConn(t *testing.T, srv *broker.Server) (*brokertest.RawConn, <-chan struct{}) {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		srv.ServeConn(server)
		close(done)
	}()
	return brokertest.NewRawConn(t, client), done
}

// newServer returns a broker for one test and the log it writes, in
// RabbitMQ's text layout at debug level (as brokertest.WithLogs), stamped
// with the bubble's clock. A net.Pipe has no loopback address, so unless cfg
// says otherwise guest may log in from anywhere (LoopbackUsers empty).
func newServer(t *testing.T, cfg broker.Config) (*broker.Server, *brokertest.LogBuffer) {
	t.Helper()
	if cfg.LoopbackUsers == nil {
		cfg.LoopbackUsers = []string{}
	}
	logs := &brokertest.LogBuffer{}
	cfg.Logger = slog.New(logfmt.NewTextHandler(logs, &logfmt.Options{Level: slog.LevelDebug}))
	srv, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, logs
}

// frameAt is a frame the client read and when.
type frameAt struct {
	f  frames.Frame
	at time.Time
}

// drain reads every frame the broker sends from now on (a net.Pipe has no
// buffer, so a client that stops reading would stall the broker's writer,
// which a real socket's buffer hides) and reports each one, then the time
// and error that ended the stream.
func drain(r *brokertest.RawConn) (<-chan frameAt, <-chan frameAt) {
	got := make(chan frameAt, 1024)
	end := make(chan frameAt, 1)
	go func() {
		defer close(got)
		for {
			f, err := r.ReadFrame(time.Hour)
			if err != nil {
				end <- frameAt{at: time.Now()}
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, os.ErrDeadlineExceeded) {
					panic(err)
				}
				return
			}
			got <- frameAt{f, time.Now()}
		}
	}()
	return got, end
}

// runToEnd reads from r until the broker has closed it and ServeConn has
// returned, and returns every frame read on the way and when the socket
// closed.
func runToEnd(r *brokertest.RawConn, done <-chan struct{}) ([]frameAt, time.Time) {
	got, end := drain(r)
	return collect(got, end, done)
}

// collect waits until ServeConn has returned and returns the frames and the
// end time that drain reported.
func collect(got, end <-chan frameAt, done <-chan struct{}) ([]frameAt, time.Time) {
	<-done
	var fs []frameAt
	for fa := range got {
		fs = append(fs, fa)
	}
	return fs, (<-end).at
}

// sendAsync writes bufs in order on a goroutine of its own, once after is
// closed (if not nil), and ignores errors: octets a real socket would buffer
// but that the broker may never read (it stops reading at a fatal frame
// error, or sleeps), which would block a write on a net.Pipe until the
// broker closes it. The channel returned is closed when the writes are
// over; chain the next sendAsync on it (two writers at once would wait on
// the pipe's mutex, which stops the bubble's clock).
func sendAsync(r *brokertest.RawConn, after <-chan struct{}, bufs ...[]byte) <-chan struct{} {
	over := make(chan struct{})
	go func() {
		defer close(over)
		if after != nil {
			<-after
		}
		for _, b := range bufs {
			if _, err := r.Conn.Write(b); err != nil {
				return
			}
		}
	}()
	return over
}

// heartbeatsAfter fails unless every frame of fs is a heartbeat, and returns
// when each came, counted from t0.
func heartbeatsAfter(t *testing.T, fs []frameAt, t0 time.Time) []time.Duration {
	t.Helper()
	var beats []time.Duration
	for _, fa := range fs {
		if fa.f.Type != frames.TypeHeartbeat {
			t.Fatalf("broker sent frame type %d %v after the start, want heartbeats only", fa.f.Type, fa.at.Sub(t0))
		}
		beats = append(beats, fa.at.Sub(t0))
	}
	return beats
}

// wantBeats fails unless the heartbeats came exactly every period from the
// sender's start until end, counted from the sender's start (tune-ok): idle,
// RabbitMQ's sender writes one every T/2, the first T/2 after tune-ok
// (rabbit_heartbeat:heartbeater/3; rabbitmq-observed.md §2). A beat due at
// the very instant of end may come or not (two timers due at once). A zero
// period means no heartbeat at all.
func wantBeats(t *testing.T, beats []time.Duration, period, end time.Duration) {
	t.Helper()
	ok := len(beats) == 0
	if period > 0 {
		n := int(end / period)
		ok = len(beats) == n || end%period == 0 && len(beats) == n-1
		for i, at := range beats {
			ok = ok && at == time.Duration(i+1)*period
		}
	}
	if !ok {
		t.Fatalf("heartbeats at %v, want exactly every %v until %v", beats, period, end)
	}
}

// endedConn returns the only connection srv has ended.
func endedConn(t *testing.T, srv *broker.Server) broker.ConnInfo {
	t.Helper()
	closed := srv.ClosedConnections()
	if len(closed) != 1 {
		t.Fatalf("%d ended connections, want 1", len(closed))
	}
	return closed[0]
}

// logLine is a log line expected at a given time: the format gets the
// connection's id as %[1]s and its name ("pipe -> pipe") as %[2]s, and
// gives everything after the timestamp ("[level] <id> message").
type logLine struct {
	at   time.Time
	line string
}

// wantLogs fails unless every line of want was logged, stamped with exactly
// its time.
func wantLogs(t *testing.T, logs *brokertest.LogBuffer, info broker.ConnInfo, want ...logLine) {
	t.Helper()
	got := strings.Split(logs.String(), "\n")
	for _, w := range want {
		line := w.at.Format(logfmt.TimeLayout) + " " + fmt.Sprintf(w.line, info.ID, info.Name)
		if !slices.Contains(got, line) {
			t.Fatalf("log line not found:\n  %s\nlog:\n%s", line, logs)
		}
	}
}
