package broker_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
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

// newServer returns a broker for one test. A net.Pipe has no loopback
// address, so the tests log in as guest with LoopbackUsers empty.
func newServer(t *testing.T, cfg broker.Config) *broker.Server {
	t.Helper()
	srv, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
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

// closedReason returns the close reason of the only connection srv has ended.
func closedReason(t *testing.T, srv *broker.Server) broker.CloseReason {
	t.Helper()
	closed := srv.ClosedConnections()
	if len(closed) != 1 {
		t.Fatalf("%d ended connections, want 1", len(closed))
	}
	return closed[0].Reason
}

// The handshake timeout runs from accept: a client that never sends the
// protocol header is dropped exactly 10 s later, with nothing sent
// (rabbit_reader's handshake_timeout, 10000 ms).
func TestSynctestHandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, broker.Config{LoopbackUsers: []string{}})
		start := time.Now()
		r, done := pipeConn(t, srv)
		_, end := drain(r)
		<-done
		if e := <-end; e.at.Sub(start) != broker.DefaultHandshakeTimeout {
			t.Fatalf("socket closed after %v, want exactly %v", e.at.Sub(start), broker.DefaultHandshakeTimeout)
		}
		if got := closedReason(t, srv); got != broker.ReasonHandshakeTimeout {
			t.Fatalf("reason %v", got)
		}
	})
}

// The handshake timeout also bounds a handshake that started: header and
// start-ok sent, tune-ok never; dropped 10 s after accept, not after the
// last frame.
func TestSynctestHandshakeTimeoutMidHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, broker.Config{HandshakeTimeout: 4 * time.Second, LoopbackUsers: []string{}})
		start := time.Now()
		r, done := pipeConn(t, srv)
		time.Sleep(time.Second)
		r.Handshake("mid")
		_, end := drain(r)
		<-done
		if e := <-end; e.at.Sub(start) != 4*time.Second {
			t.Fatalf("socket closed after %v, want exactly 4s", e.at.Sub(start))
		}
		if got := closedReason(t, srv); got != broker.ReasonHandshakeTimeout {
			t.Fatalf("reason %v", got)
		}
	})
}

// A client that negotiates T and then sends nothing is dropped on the
// receiver's second check without news: checks every T from tune-ok, the
// first sees connection.open, the next two see nothing, so the reset comes
// exactly 3T after tune-ok (rabbit_heartbeat's receiver, 2 checks).
func TestSynctestMissedHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = 5
		srv := newServer(t, broker.Config{LoopbackUsers: []string{}})
		r, done := pipeConn(t, srv)
		tune := r.Handshake("silent")
		tuneOK := time.Now()
		r.Open(tune.ChannelMax, tune.FrameMax, T)
		got, end := drain(r)
		<-done
		e := <-end
		if e.at.Sub(tuneOK) != 3*T*time.Second {
			t.Fatalf("dropped %v after tune-ok, want exactly %v", e.at.Sub(tuneOK), 3*T*time.Second)
		}
		// The sender wrote a heartbeat every T/2 from tune-ok until the end
		// (the sixth is due at the very instant of the reset: either may
		// come first).
		var beats []time.Duration
		for fa := range got {
			if fa.f.Type == frames.TypeHeartbeat {
				beats = append(beats, fa.at.Sub(tuneOK))
			}
		}
		for i, at := range beats {
			if at != time.Duration(i+1)*T*time.Second/2 || len(beats) < 5 || len(beats) > 6 {
				t.Fatalf("heartbeats at %v after tune-ok, want every %v", beats, T*time.Second/2)
			}
		}
		if got := closedReason(t, srv); got != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", got)
		}
	})
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
				srv := newServer(t, broker.Config{LoopbackUsers: []string{}})
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
				if e := <-end; sent.IsZero() || e.at.Sub(sent) != tc.wait {
					t.Fatalf("socket closed %v after connection.close, want exactly %v", e.at.Sub(sent), tc.wait)
				}
				if got := closedReason(t, srv); got != broker.ReasonForced {
					t.Fatalf("reason %v", got)
				}
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
		srv := newServer(t, broker.Config{LoopbackUsers: []string{}})
		r, done := pipeConn(t, srv)
		tune := r.Handshake("blocked")
		r.Open(tune.ChannelMax, tune.FrameMax, T)
		r.SendMethod(1, &amqp.ChannelOpen{})
		brokertest.Expect[*amqp.ChannelOpenOk](r, time.Second)
		srv.SetBlocked(true)
		r.SendMethod(1, &amqp.BasicPublish{RoutingKey: "nowhere"})
		r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, amqp.ClassBasic, 0, []byte{0, 0}))
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
		if got := closedReason(t, srv); got != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", got)
		}
	})
}
