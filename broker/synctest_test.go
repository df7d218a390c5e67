package broker_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
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

// The handshake timer runs from accept until connection.open, whatever the
// stage (rabbit_reader's handshake_timeout, 10000 ms by default): at exactly
// accept + the timeout the socket is closed with nothing sent but the
// heartbeats of a sender started at tune-ok, and RabbitMQ's two error lines
// are logged at that instant, with the callback handshake before the
// protocol header and frame_header after it (rabbitmq-observed.md §4). The
// accepting line comes with the first octet, or at the timeout from a
// client that sent none (§5). Each script starts 1 s after accept: a timer
// counted from the last frame would be late.
func TestSynctestHandshakeTimeout(t *testing.T) {
	tuneOK := func(hb uint16) func(r *brokertest.RawConn) uint16 {
		return func(r *brokertest.RawConn) uint16 {
			r.Handshake("")
			r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072, Heartbeat: hb})
			return hb
		}
	}
	cases := []struct {
		name     string
		timeout  time.Duration                      // Config.HandshakeTimeout; 0: the default, 10 s
		script   func(r *brokertest.RawConn) uint16 // returns the heartbeat sent in tune-ok
		quiet    bool                               // the script sends nothing
		callback string
	}{
		{"silent", 0, func(*brokertest.RawConn) uint16 { return 0 }, true, "handshake"},
		{"partial header", 0, func(r *brokertest.RawConn) uint16 { r.Write([]byte("AMQ")); return 0 }, false, "handshake"},
		{"after header", 0, func(r *brokertest.RawConn) uint16 {
			r.SendProtocolHeader()
			brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
			return 0
		}, false, "frame_header"},
		{"after start-ok", 0, func(r *brokertest.RawConn) uint16 { r.Handshake(""); return 0 }, false, "frame_header"},
		{"after start-ok, timeout 4s", 4 * time.Second, func(r *brokertest.RawConn) uint16 { r.Handshake(""); return 0 }, false, "frame_header"},
		{"after tune-ok hb 0", 0, tuneOK(0), false, "frame_header"},
		{"after tune-ok hb 5", 0, tuneOK(5), false, "frame_header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, logs := newServer(t, broker.Config{HandshakeTimeout: tc.timeout})
				timeout := cmp.Or(tc.timeout, broker.DefaultHandshakeTimeout)
				accepted := time.Now()
				r, done := pipeConn(t, srv)
				time.Sleep(time.Second)
				hb := tc.script(r)
				scripted := time.Now()
				fs, closed := runToEnd(r, done)
				if closed.Sub(accepted) != timeout {
					t.Fatalf("socket closed %v after accept, want exactly %v", closed.Sub(accepted), timeout)
				}
				// Sender started at tune-ok, 1 s after accept.
				wantBeats(t, heartbeatsAfter(t, fs, scripted), time.Duration(hb)*time.Second/2, timeout-time.Second)
				info := endedConn(t, srv)
				if info.Reason != broker.ReasonHandshakeTimeout {
					t.Fatalf("reason %v", info.Reason)
				}
				firstOctet := scripted
				if tc.quiet {
					firstOctet = closed
				}
				wantLogs(t, logs, info,
					logLine{firstOctet, "[info] %[1]s accepting AMQP connection %[1]s (%[2]s)"},
					logLine{closed, "[error] %[1]s closing AMQP connection %[1]s (%[2]s):"},
					logLine{closed, "[error] %[1]s {handshake_timeout," + tc.callback + "}"})
			})
		})
	}
}

// Errors before the broker trusts the client get no connection.close: a
// handshake error before tune-ok has been accepted (rabbit_reader's
// handle_exception/3, last clause) or a failed negotiation (§1) make
// RabbitMQ sleep ?SILENT_CLOSE_DELAY, 3 s, and close the socket: exactly 3 s
// after the offending frame, nothing sent (heartbeat-semantics.md §c rows
// 1-5, 8c; rabbitmq-observed.md §1).
func TestSynctestSilentClose(t *testing.T) {
	starting := func(r *brokertest.RawConn) {
		r.SendProtocolHeader()
		brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
	}
	tuneOk := func(channelMax uint16, frameMax uint32) []byte {
		return brokertest.FrameBytes(frames.TypeMethod, 0,
			brokertest.MethodPayload(&amqp.ConnectionTuneOk{ChannelMax: channelMax, FrameMax: frameMax, Heartbeat: 0}))
	}
	type tc struct {
		name   string
		script func(r *brokertest.RawConn) // up to the state of the error
		input  []byte
		reason broker.CloseReason
		logs   []string // logged at the close, after "closing AMQP connection <id> (<name>):"
	}
	negotiation := func(name string, input []byte, want string) tc {
		return tc{"tune-ok " + name, func(r *brokertest.RawConn) { r.Handshake("neg") }, input, broker.ReasonNegotiationFailed,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s - neg):",
				"[error] %[1]s failed to negotiate connection parameters: " + want}}
	}
	cases := []tc{
		{"unknown mechanism", starting,
			brokertest.FrameBytes(frames.TypeMethod, 0, brokertest.MethodPayload(&amqp.ConnectionStartOk{Mechanism: "EXTERNAL", Locale: "en_US"})),
			broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s):",
				`[error] %[1]s {handshake_error,starting,0,{amqp_error,command_invalid,"unknown authentication mechanism 'EXTERNAL'",'connection.start_ok'}}`}},
		{"frame too large while starting", starting, brokertest.FrameBytes(frames.TypeMethod, 0, make([]byte, 5000)),
			broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s):",
				`[error] %[1]s {handshake_error,starting,0,{amqp_error,frame_error,"type 1, all octets = <<>>: {frame_too_large,5000,4088}",none}}`}},
		{"connection.open while tuning", func(r *brokertest.RawConn) { r.Handshake("early-open") },
			brokertest.FrameBytes(frames.TypeMethod, 0, brokertest.MethodPayload(&amqp.ConnectionOpen{VirtualHost: "/"})),
			broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s - early-open):",
				`[error] %[1]s {handshake_error,tuning,0,{amqp_error,channel_error,"unexpected method in connection state tuning",'connection.open'}}`}},
		{"heartbeat on channel 1 while tuning", func(r *brokertest.RawConn) { r.Handshake("") },
			brokertest.FrameBytes(frames.TypeHeartbeat, 1, nil), broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s):",
				`[error] %[1]s {handshake_error,tuning,1,{amqp_error,unexpected_frame,"type 8, all octets = <<>>",none}}`}},
		negotiation("frame_max 1024", tuneOk(2047, 1024), "negotiated frame_max = 1024 is lower than the minimum allowed value (4096)"),
		negotiation("frame_max 4095", tuneOk(2047, 4095), "negotiated frame_max = 4095 is lower than the minimum allowed value (4096)"),
		negotiation("frame_max 0", tuneOk(2047, 0), "negotiated frame_max = 0 is higher than the maximum allowed value (131072)"),
		negotiation("frame_max 131073", tuneOk(2047, 131073), "negotiated frame_max = 131073 is higher than the maximum allowed value (131072)"),
		negotiation("channel_max 0", tuneOk(0, 131072), "negotiated channel_max = 0 (no limit) is higher than the maximum allowed value (2047)"),
		negotiation("channel_max 2048", tuneOk(2048, 131072), "negotiated channel_max = 2048 is higher than the maximum allowed value (2047)"),
		negotiation("heartbeat as a long", brokertest.FrameBytes(frames.TypeMethod, 0, []byte{0, 10, 0, 31, 7, 255, 0, 2, 0, 0, 0, 1, 17, 112}),
			"cannot decode <<7,255,0,2,0,0,0,1,17,112>>"),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, logs := newServer(t, broker.Config{})
				r, done := pipeConn(t, srv)
				tc.script(r)
				sent := time.Now()
				sendAsync(r, nil, tc.input)
				fs, closed := runToEnd(r, done)
				if len(fs) != 0 {
					t.Fatalf("broker sent %d frames, want none (first type %d)", len(fs), fs[0].f.Type)
				}
				if closed.Sub(sent) != 3*time.Second {
					t.Fatalf("socket closed %v after the input, want exactly 3s", closed.Sub(sent))
				}
				info := endedConn(t, srv)
				if info.Reason != tc.reason {
					t.Fatalf("reason %v, want %v", info.Reason, tc.reason)
				}
				for _, l := range tc.logs {
					wantLogs(t, logs, info, logLine{closed, l})
				}
			})
		})
	}
}

// A refused login from a client without authentication_failure_close: no
// connection.close, the reason goes to the log at once, and the connection
// waits in the closed state for the closing timeout (rabbit_reader's
// handle_exception/3, starting clause, access_refused: close_connection/1),
// which before tune-ok is ?NORMAL_TIMEOUT, the 3 s that timeout_sec starts
// with (start_connection/3): the socket closes exactly 3 s later, logged as
// a clean close.
func TestSynctestAuthFailureWithoutCapability(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.SendProtocolHeader()
		brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
		sent := time.Now()
		r.SendMethod(0, &amqp.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00nobody\x00x", Locale: "en_US"})
		fs, closed := runToEnd(r, done)
		if len(fs) != 0 {
			t.Fatalf("broker sent %d frames, want none", len(fs))
		}
		if closed.Sub(sent) != 3*time.Second {
			t.Fatalf("socket closed %v after start-ok, want exactly 3s", closed.Sub(sent))
		}
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonAuthFailed {
			t.Fatalf("reason %v", info.Reason)
		}
		wantLogs(t, logs, info,
			logLine{sent, "[error] %[1]s Error on AMQP connection %[1]s (%[2]s, state: starting):"},
			logLine{sent, "[error] %[1]s PLAIN login refused: user 'nobody' - invalid credentials"},
			logLine{closed, "[info] %[1]s closing AMQP connection %[1]s (%[2]s)"})
	})
}

// Bad inputs on an open connection (heartbeat 0), rabbitmq-observed.md §3:
// connection.close with class 0 and method 0 at the instant of the input,
// logged then. A non-fatal error then waits for close-ok, and closes the
// socket when it comes, or after the closing timeout (30 s at heartbeat 0,
// rabbit_reader:close_connection/1). A fatal one (the frame layer lost
// sync) closes the socket 3 s after the close whatever the client does
// (fatal_frame_error/5, ?SILENT_CLOSE_DELAY).
func TestSynctestFrameErrors(t *testing.T) {
	publish := brokertest.MethodPayload(&amqp.BasicPublish{RoutingKey: "q"})
	contentHeader := amqp.AppendContentHeader(nil, 60, 10000, []byte{0, 0})
	cases := []struct {
		name     string
		frameMax uint32
		input    [][]byte
		code     uint16
		text     string
		channel  uint16
		fatal    bool
	}{
		{"heartbeat on open channel 1", 131072, [][]byte{brokertest.FrameBytes(8, 1, nil)},
			505, "UNEXPECTED_FRAME - type 8, all octets = <<>>", 1, false},
		{"heartbeat on channel 5", 131072, [][]byte{brokertest.FrameBytes(8, 5, nil)},
			505, "UNEXPECTED_FRAME - type 8, all octets = <<>>", 5, false},
		{"heartbeat with payload", 131072, [][]byte{brokertest.FrameBytes(8, 0, []byte("abcd"))},
			501, `FRAME_ERROR - type 8, all octets = <<"abcd">>: unknown_frame`, 0, false},
		{"unknown frame type 7", 131072, [][]byte{brokertest.FrameBytes(7, 0, nil)},
			501, "FRAME_ERROR - type 7, all octets = <<>>: unknown_frame", 0, false},
		{"short method frame", 131072, [][]byte{brokertest.FrameBytes(1, 1, []byte{0, 20})},
			501, "FRAME_ERROR - type 1, all octets = <<0,20>>: unknown_frame", 1, false},
		{"heartbeat frame end 0", 131072, [][]byte{frameEnd0(8, 0, nil)},
			501, "FRAME_ERROR - type 8, all octets = <<>>: {invalid_frame_end_marker,0}", 0, true},
		{"channel.open frame end 0", 131072, [][]byte{frameEnd0(1, 2, []byte{0, 20, 0, 10, 0})},
			501, "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}", 2, true},
		{"body 4097 at frame_max 4096", 4096, [][]byte{brokertest.FrameBytes(1, 1, publish),
			brokertest.FrameBytes(2, 1, contentHeader), brokertest.FrameBytes(3, 1, make([]byte, 4097))},
			501, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}", 1, true},
		{"header announcing 1000000", 131072, [][]byte{header(8, 0, 1000000)},
			501, "FRAME_ERROR - type 8, all octets = <<>>: {frame_too_large,1000000,131064}", 0, true},
		{"method 5004 at frame_max 4096", 4096, [][]byte{brokertest.FrameBytes(1, 1, make([]byte, 5004))},
			501, "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,5004,4088}", 1, true},
	}
	for _, tc := range cases {
		for _, answer := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/close-ok=%v", tc.name, answer), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv, logs := newServer(t, broker.Config{})
					r, done := pipeConn(t, srv)
					tune := r.Handshake("bad")
					r.Open(tune.ChannelMax, tc.frameMax, 0)
					openChannel(t, r, 1)
					sent := time.Now()
					input := sendAsync(r, nil, tc.input...)
					expectClose(t, r, tc.code, tc.text, 0, 0)
					if time.Now() != sent {
						t.Fatalf("connection.close %v after the input, want at once", time.Since(sent))
					}
					if answer {
						sendAsync(r, input, brokertest.FrameBytes(frames.TypeMethod, 0, brokertest.MethodPayload(&amqp.ConnectionCloseOk{})))
					}
					fs, closed := runToEnd(r, done)
					wantBeats(t, heartbeatsAfter(t, fs, sent), 0, 0)
					wait := 30 * time.Second // the closing timeout at heartbeat 0
					switch {
					case tc.fatal:
						wait = 3 * time.Second
					case answer:
						wait = 0
					}
					if closed.Sub(sent) != wait {
						t.Fatalf("socket closed %v after the input, want exactly %v", closed.Sub(sent), wait)
					}
					info := endedConn(t, srv)
					atom := map[uint16]string{501: "frame_error", 505: "unexpected_frame"}[tc.code]
					expl := tc.text[strings.Index(tc.text, " - ")+3:]
					wantLogs(t, logs, info,
						logLine{sent, fmt.Sprintf("[error] %%[1]s Error on AMQP connection %%[1]s (%%[2]s - bad, vhost: '/', user: 'guest', state: running), channel %d:", tc.channel)},
						logLine{sent, fmt.Sprintf("[error] %%[1]s  operation none caused a connection exception %s: %q", atom, expl)})
					if tc.fatal {
						wantLogs(t, logs, info,
							logLine{closed, "[error] %[1]s closing AMQP connection %[1]s (%[2]s - bad):"},
							logLine{closed, "[error] %[1]s fatal_frame_error"})
						if info.Reason != broker.ReasonFrameError {
							t.Fatalf("reason %v", info.Reason)
						}
						return
					}
					wantLogs(t, logs, info, logLine{closed, "[info] %[1]s closing AMQP connection %[1]s (%[2]s - bad, vhost: '/', user: 'guest')"})
					if info.Reason != broker.ReasonConnectionError || info.CloseCode != tc.code {
						t.Fatalf("reason %v code %d", info.Reason, info.CloseCode)
					}
				})
			})
		}
	}
}

// After the client's connection.close the broker answers close-ok at once
// and waits for the client to close TCP, for the closing timeout: T if
// 0 < T < 30, else 30 s (rabbit_reader:close_connection/1;
// rabbitmq-observed.md §2, last row); its heartbeats go on meanwhile, every
// T/2 from tune-ok. The close comes 0.5 s after tune-ok, so that no beat is
// due at the instant of the socket's close.
func TestSynctestClientCloseWaitsForTCP(t *testing.T) {
	for _, tc := range []struct {
		hb   uint16
		wait time.Duration
	}{{2, 2 * time.Second}, {0, 30 * time.Second}, {45, 30 * time.Second}} {
		t.Run(fmt.Sprint(tc.hb), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, logs := newServer(t, broker.Config{})
				r, done := pipeConn(t, srv)
				r.Connect("waits", tc.hb)
				tuneOK := time.Now()
				time.Sleep(time.Second / 2)
				r.SendMethod(0, &amqp.ConnectionClose{ReplyCode: 200, ReplyText: "bye"})
				sent := time.Now()
				brokertest.Expect[*amqp.ConnectionCloseOk](r, time.Second)
				if time.Now() != sent {
					t.Fatalf("close-ok %v after connection.close, want at once", time.Since(sent))
				}
				fs, closed := runToEnd(r, done)
				if closed.Sub(sent) != tc.wait {
					t.Fatalf("socket closed %v after close-ok, want exactly %v", closed.Sub(sent), tc.wait)
				}
				wantBeats(t, heartbeatsAfter(t, fs, tuneOK), time.Duration(tc.hb)*time.Second/2, closed.Sub(tuneOK))
				info := endedConn(t, srv)
				if info.Reason != broker.ReasonClientClose {
					t.Fatalf("reason %v", info.Reason)
				}
				wantLogs(t, logs, info, logLine{closed, "[info] %[1]s closing AMQP connection %[1]s (%[2]s - waits, vhost: '/', user: 'guest')"})
			})
		})
	}
}

// Shutdown sends connection.close 320 "CONNECTION_FORCED - broker shutdown"
// to every open connection at once and drops those still in the handshake
// (rabbit_reader:terminate/2); it returns when every connection has ended,
// or at ctx's deadline, exactly, when it resets the sockets left (a client
// that never answers: its closing timeout of 30 s would come later).
func TestSynctestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		mute, muteDone := pipeConn(t, srv)
		mute.Connect("mute", 0)
		polite, politeDone := pipeConn(t, srv)
		polite.Connect("polite", 0)
		hs, hsDone := pipeConn(t, srv) // still in the handshake
		hs.SendProtocolHeader()
		brokertest.Expect[*amqp.ConnectionStart](hs, time.Second)
		muteGot, muteEnd := drain(mute)
		politeGot, politeEnd := drain(polite)
		_, hsEnd := drain(hs)

		const grace = 5 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		began := time.Now()
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(ctx) }()
		wantForcedClose(t, <-politeGot, began)
		polite.SendMethod(0, &amqp.ConnectionCloseOk{})
		wantForcedClose(t, <-muteGot, began)
		for _, end := range []<-chan frameAt{politeEnd, hsEnd} {
			if e := <-end; e.at != began {
				t.Fatalf("socket closed %v after Shutdown began, want at once", e.at.Sub(began))
			}
		}
		if err := <-shut; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want the deadline (one client never answers)", err)
		}
		if d := time.Since(began); d != grace {
			t.Fatalf("Shutdown returned after %v, want exactly %v", d, grace)
		}
		if e := <-muteEnd; e.at.Sub(began) != grace {
			t.Fatalf("mute client's socket closed %v after Shutdown began, want exactly %v", e.at.Sub(began), grace)
		}
		<-muteDone
		<-politeDone
		<-hsDone
		if n := len(srv.Connections()); n != 0 {
			t.Fatalf("%d connections left", n)
		}
		closed := srv.ClosedConnections()
		if len(closed) != 3 {
			t.Fatalf("%d ended connections, want 3", len(closed))
		}
		for _, info := range closed {
			if info.Reason != broker.ReasonForced {
				t.Fatalf("%s ended with %v", info.ID, info.Reason)
			}
		}
		if n := len(logs.Lines(`operation none caused a connection exception connection_forced: "broker shutdown"`)); n != 2 {
			t.Fatalf("%d connection_forced lines, want 2 (the open connections):\n%s", n, logs)
		}
	})
}

// wantForcedClose fails unless fa is connection.close 320 "CONNECTION_FORCED
// - broker shutdown" read at exactly at.
func wantForcedClose(t *testing.T, fa frameAt, at time.Time) {
	t.Helper()
	m, err := amqp.ReadMethod(fa.f.Payload)
	if c, ok := m.(*amqp.ConnectionClose); err != nil || !ok || c.ReplyCode != 320 || c.ReplyText != "CONNECTION_FORCED - broker shutdown" {
		t.Fatalf("got %+v, %v, want connection.close 320 CONNECTION_FORCED - broker shutdown", m, err)
	}
	if fa.at != at {
		t.Fatalf("connection.close %v after Shutdown began, want at once", fa.at.Sub(at))
	}
}

// Missed heartbeats (rabbit_heartbeat's receiver, rabbitmq-observed.md §2):
// from tune-ok the receiver checks the received-octet count every T; its
// state starts at {0, 0}, so the first check always sees news; a check sees
// news if an octet arrived since the one before; the second check in a row
// without news resets the socket, with no connection.close, and RabbitMQ's
// two error lines. So a client silent from tune-ok is dropped exactly 3T
// after it, before connection.open too (ahead of the 10 s handshake
// timeout), and one whose last octet came at L (between checks) at
// (⌈L/T⌉ + 2)·T, 2T to 3T after it. Meanwhile the sender, started at tune-ok
// too, writes a heartbeat every T/2 (wantBeats).
func TestSynctestMissedHeartbeats(t *testing.T) {
	for _, tc := range []struct {
		name string
		T    uint16        // seconds
		open bool          // connection.open follows tune-ok
		last time.Duration // when the client sends a heartbeat after tune-ok, 0: never
		drop time.Duration // when the broker drops it, after tune-ok
	}{
		{"silent from tune-ok", 5, true, 0, 15 * time.Second},
		{"no connection.open", 1, false, 0, 3 * time.Second},
		{"last octet at 1.5T", 1, true, 1500 * time.Millisecond, 4 * time.Second},
		{"last octet at 1.7T", 1, true, 1700 * time.Millisecond, 4 * time.Second},
		{"last octet at 2.3T", 1, true, 2300 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, logs := newServer(t, broker.Config{})
				r, done := pipeConn(t, srv)
				tune := r.Handshake("silent")
				tuneOK := time.Now()
				if tc.open {
					r.Open(tune.ChannelMax, tune.FrameMax, tc.T)
				} else {
					r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: tune.FrameMax, Heartbeat: tc.T})
				}
				got, end := drain(r)
				if tc.last > 0 {
					time.Sleep(tc.last)
					r.SendHeartbeat()
				}
				fs, dropped := collect(got, end, done)
				if dropped.Sub(tuneOK) != tc.drop {
					t.Fatalf("dropped %v after tune-ok, want exactly %v", dropped.Sub(tuneOK), tc.drop)
				}
				wantBeats(t, heartbeatsAfter(t, fs, tuneOK), time.Duration(tc.T)*time.Second/2, tc.drop)
				info := endedConn(t, srv)
				if info.Reason != broker.ReasonMissedHeartbeats {
					t.Fatalf("reason %v", info.Reason)
				}
				wantLogs(t, logs, info,
					logLine{dropped, "[error] %[1]s closing AMQP connection %[1]s (%[2]s - silent):"},
					logLine{dropped, fmt.Sprintf("[error] %%[1]s missed heartbeats from client, timeout: %ds", tc.T)})
			})
		})
	}
}

// A client whose octets come often enough is never dropped: every window of
// 2T between two receiver checks holds one (heartbeat-semantics.md §b.1:
// a gap under 2T never trips); at T = 0 nothing is checked and nothing is
// sent. The broker's sender counts only its own output, so it beats every
// T/2 whatever the client sends. A client beating every 3T always trips:
// one beating at 2.9T, 5.9T ... is dropped by the checks at 3T (news), 4T
// and 5T (none), exactly 5T after tune-ok.
func TestSynctestClientHeartbeats(t *testing.T) {
	for _, tc := range []struct {
		name          string
		T             uint16
		first, period time.Duration // the client's heartbeats after tune-ok, period 0: none
		drop          time.Duration // when the broker drops the client, 0: never (it leaves after 20T, or 20 min at T = 0)
	}{
		{"every T/2", 2, time.Second, time.Second, 0},
		{"every 1.95T", 2, 3900 * time.Millisecond, 3900 * time.Millisecond, 0},
		{"every 3T", 1, 2900 * time.Millisecond, 3 * time.Second, 5 * time.Second},
		{"T=0, silent", 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, logs := newServer(t, broker.Config{})
				r, done := pipeConn(t, srv)
				r.Connect("beating", tc.T)
				tuneOK := time.Now()
				got, end := drain(r)
				// The client leaves off the broker's beat grid: a beat due as
				// the pipe closes would fail (a heartbeat send error).
				stay := 20*time.Duration(tc.T)*time.Second + time.Duration(tc.T)*time.Second/4
				if tc.T == 0 {
					stay = 20 * time.Minute
				}
				for at := tc.first; tc.period > 0 && at < stay && (tc.drop == 0 || at < tc.drop); at += tc.period {
					time.Sleep(at - time.Since(tuneOK))
					r.SendHeartbeat()
				}
				if tc.drop == 0 {
					time.Sleep(stay - time.Since(tuneOK))
					synctest.Wait()
					if n := len(srv.Connections()); n != 1 {
						t.Fatalf("client dropped (%d connections)", n)
					}
					_ = r.Conn.Close()
				}
				fs, closed := collect(got, end, done)
				want := cmp.Or(tc.drop, stay)
				if closed.Sub(tuneOK) != want {
					t.Fatalf("closed %v after tune-ok, want exactly %v", closed.Sub(tuneOK), want)
				}
				wantBeats(t, heartbeatsAfter(t, fs, tuneOK), time.Duration(tc.T)*time.Second/2, want)
				info := endedConn(t, srv)
				if tc.drop > 0 {
					if info.Reason != broker.ReasonMissedHeartbeats {
						t.Fatalf("reason %v", info.Reason)
					}
					return
				}
				if info.Reason != broker.ReasonUnexpectedClose {
					t.Fatalf("reason %v", info.Reason)
				}
				if l := logs.Lines("missed heartbeats"); len(l) > 0 {
					t.Fatalf("unexpected log line %q", l[0])
				}
			})
		})
	}
}

// After the broker sends connection.close it waits T for the peer's
// close-ok (0 < T < 30), then closes the socket; heartbeats go on meanwhile
// and missed ones are ignored (rabbit_reader's closing timeout).
func TestSynctestClosingTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		hb   uint16
		wait time.Duration
	}{
		{"T=4", 4, 4 * time.Second},
		{"no heartbeat", 0, 30 * time.Second},
		{"T=40", 40, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, logs := newServer(t, broker.Config{})
				r, done := pipeConn(t, srv)
				tune := r.Handshake("closing")
				r.Open(tune.ChannelMax, tune.FrameMax, tc.hb)
				got, end := drain(r)
				go srv.CloseConnection(srv.Connections()[0].Name, "test")
				var sent time.Time
				for fa := range got {
					if fa.f.Type != frames.TypeMethod {
						continue
					}
					m, err := amqp.ReadMethod(fa.f.Payload)
					if err != nil {
						t.Fatal(err)
					}
					if cl, ok := m.(*amqp.ConnectionClose); ok && cl.ReplyCode == amqp.ConnectionForced {
						sent = fa.at
						break
					}
				}
				for range got {
				}
				<-done
				e := <-end
				if sent.IsZero() || e.at.Sub(sent) != tc.wait {
					t.Fatalf("socket closed %v after connection.close, want exactly %v", e.at.Sub(sent), tc.wait)
				}
				info := endedConn(t, srv)
				if info.Reason != broker.ReasonForced {
					t.Fatalf("reason %v", info.Reason)
				}
				wantLogs(t, logs, info,
					logLine{sent, "[error] %[1]s  operation none caused a connection exception connection_forced: \"test\""},
					logLine{e.at, "[info] %[1]s closing AMQP connection %[1]s (%[2]s - closing, vhost: '/', user: 'guest')"})
			})
		})
	}
}

// A connection that publishes while the resource alarm is on gets
// connection.blocked and is no longer read, and its missed-heartbeat
// detection pauses however long the alarm lasts; when the alarm clears it
// gets connection.unblocked and detection resumes with a fresh window: the
// receiver's state goes back to {0, 0}, so its first check always sees news
// and a still-silent client is dropped exactly 3T after the alarm cleared
// (rabbit_heartbeat:pause_monitor/1, resume_monitor/1).
func TestSynctestBlockedPausesDetection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = 2
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		tune := r.Handshake("blocked")
		r.Open(tune.ChannelMax, tune.FrameMax, T)
		r.SendMethod(1, &amqp.ChannelOpen{})
		brokertest.Expect[*amqp.ChannelOpenOk](r, time.Second)
		srv.SetBlocked(true)
		r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "nowhere"})
		r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, amqp.ClassBasic, 0, nil))
		brokertest.Expect[*amqp.ConnectionBlocked](r, time.Second)
		got, end := drain(r)

		time.Sleep(100 * T * time.Second) // far beyond 3T: still open
		synctest.Wait()
		if in := srv.Connections(); len(in) != 1 || in[0].State != broker.StateBlocked {
			t.Fatalf("after 100T blocked: %+v", in)
		}
		srv.SetBlocked(false)
		cleared := time.Now()
		<-done
		e := <-end
		var unblocked bool
		for fa := range got {
			if fa.f.Type == frames.TypeMethod {
				m, _ := amqp.ReadMethod(fa.f.Payload)
				_, unblocked = m.(*amqp.ConnectionUnblocked)
				if unblocked && fa.at != cleared {
					t.Fatalf("connection.unblocked %v after the alarm cleared", fa.at.Sub(cleared))
				}
			}
		}
		if !unblocked {
			t.Fatal("no connection.unblocked")
		}
		if e.at.Sub(cleared) != 3*T*time.Second {
			t.Fatalf("dropped %v after the alarm cleared, want exactly %v", e.at.Sub(cleared), 3*T*time.Second)
		}
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", info.Reason)
		}
		wantLogs(t, logs, info,
			logLine{e.at, "[error] %[1]s closing AMQP connection %[1]s (%[2]s - blocked):"},
			logLine{e.at, "[error] %[1]s missed heartbeats from client, timeout: 2s"})
	})
}
