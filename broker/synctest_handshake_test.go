package broker_test

import (
	"cmp"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

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
		mechs  []string // Config.AuthMechanisms
	}
	negotiation := func(name string, input []byte, want string) tc {
		return tc{"tune-ok " + name, func(r *brokertest.RawConn) { r.Handshake("neg") }, input, broker.ReasonNegotiationFailed,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s - neg):",
				"[error] %[1]s failed to negotiate connection parameters: " + want}, nil}
	}
	cases := []tc{
		{"unknown mechanism", starting,
			brokertest.FrameBytes(frames.TypeMethod, 0, brokertest.MethodPayload(&amqp.ConnectionStartOk{Mechanism: "EXTERNAL", Locale: "en_US"})),
			broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s):",
				`[error] %[1]s {handshake_error,starting,0,{amqp_error,command_invalid,"unknown authentication mechanism 'EXTERNAL'",'connection.start_ok'}}`}, nil},
		// EXTERNAL listed (the plugin enabled) but never offered without TLS.
		{"mechanism not offered", starting,
			brokertest.FrameBytes(frames.TypeMethod, 0, brokertest.MethodPayload(&amqp.ConnectionStartOk{Mechanism: "EXTERNAL", Locale: "en_US"})),
			broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s):",
				`[error] %[1]s {handshake_error,starting,0,{amqp_error,command_invalid,"invalid authentication mechanism 'EXTERNAL'",'connection.start_ok'}}`},
			[]string{"PLAIN", "AMQPLAIN", "EXTERNAL"}},
		{"frame too large while starting", starting, brokertest.FrameBytes(frames.TypeMethod, 0, make([]byte, 5000)),
			broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s):",
				`[error] %[1]s {handshake_error,starting,0,{amqp_error,frame_error,"type 1, all octets = <<>>: {frame_too_large,5000,4088}",none}}`}, nil},
		{"connection.open while tuning", func(r *brokertest.RawConn) { r.Handshake("early-open") },
			brokertest.FrameBytes(frames.TypeMethod, 0, brokertest.MethodPayload(&amqp.ConnectionOpen{VirtualHost: "/"})),
			broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s - early-open):",
				`[error] %[1]s {handshake_error,tuning,0,{amqp_error,channel_error,"unexpected method in connection state tuning",'connection.open'}}`}, nil},
		{"heartbeat on channel 1 while tuning", func(r *brokertest.RawConn) { r.Handshake("") },
			brokertest.FrameBytes(frames.TypeHeartbeat, 1, nil), broker.ReasonHandshakeError,
			[]string{"[error] %[1]s closing AMQP connection %[1]s (%[2]s):",
				`[error] %[1]s {handshake_error,tuning,1,{amqp_error,unexpected_frame,"type 8, all octets = <<>>",none}}`}, nil},
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
				srv, logs := newServer(t, broker.Config{AuthMechanisms: tc.mechs})
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
