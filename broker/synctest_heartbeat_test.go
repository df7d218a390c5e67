package broker_test

import (
	"cmp"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

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
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", info.Reason)
		}
		wantLogs(t, logs, info,
			logLine{e.at, "[error] %[1]s closing AMQP connection %[1]s (%[2]s - blocked):"},
			logLine{e.at, "[error] %[1]s missed heartbeats from client, timeout: 2s"})
	})
}
