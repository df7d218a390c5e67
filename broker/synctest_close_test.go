package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

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
