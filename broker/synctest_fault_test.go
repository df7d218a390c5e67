package broker_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// Fault injection and heartbeat telemetry on the bubble's clock (see
// synctest_test.go): each fault's effect on what the broker sends, when its
// own detection fires, the late-heartbeat warning and the log lines, to the
// nanosecond.

// split returns when each heartbeat came and when each other frame came,
// counted from t0. A heartbeat due at the very instant of end (the close)
// may come or not (two timers due at once) and is left out.
func split(fs []frameAt, t0, end time.Time) (beats []time.Duration, others []time.Duration) {
	for _, fa := range fs {
		if fa.f.Type == frames.TypeHeartbeat {
			if fa.at.Equal(end) {
				continue
			}
			beats = append(beats, fa.at.Sub(t0))
		} else {
			others = append(others, fa.at.Sub(t0))
		}
	}
	return beats, others
}

// secs turns seconds into durations.
func secs(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

func wantTimes(t *testing.T, what string, got, want []time.Duration) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s at %v, want %v", what, got, want)
	}
}

// A muted broker sends no heartbeat while the fault lasts and resumes when
// it expires; its own detection is unaffected: a silent client is warned
// about at 1.5T (the first sender tick past it) and closed at 3T, counted in
// the server's totals; the telemetry shows the longest outbound gap.
func TestSynctestFaultMuteHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("muted", 4) // T = 4 s: sender ticks every 2 s, close at 12 s
		t0 := time.Now()
		got, end := drain(r)
		time.Sleep(3 * time.Second)
		if err := srv.SetFault("muted", broker.Fault{Kind: broker.FaultMuteHeartbeats, For: 4 * time.Second}); err != nil {
			t.Fatal(err)
		}
		fs, dropped := collect(got, end, done)
		beats, others := split(fs, t0, dropped)
		wantTimes(t, "heartbeats", beats, secs(2, 8, 10)) // 4 and 6 muted
		wantTimes(t, "other frames", others, nil)
		if dropped.Sub(t0) != 12*time.Second {
			t.Fatalf("dropped at %v, want 12s (3T: detection unaffected)", dropped.Sub(t0))
		}
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", info.Reason)
		}
		tm := info.Telemetry
		sent := 0
		for _, fa := range fs {
			if fa.f.Type == frames.TypeHeartbeat {
				sent++
			}
		}
		if tm.HeartbeatsSent != uint64(sent) || tm.HeartbeatsReceived != 0 || tm.LateWarnings != 1 ||
			tm.LongestOutboundSilence != 6*time.Second || tm.InT(tm.LongestOutboundSilence) != 1.5 ||
			tm.LongestInboundSilence != 12*time.Second || tm.Interval != 4*time.Second {
			t.Fatalf("telemetry %+v", tm)
		}
		if tot := srv.HeartbeatTotals(); tot != (broker.HeartbeatTotals{MissedHeartbeatCloses: 1, LateWarnings: 1}) {
			t.Fatalf("totals %+v", tot)
		}
		at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
		wantLogs(t, logs, info,
			logLine{at(3), "[warning] %[1]s fault injected on connection %[1]s (%[2]s - muted): mute-heartbeats, for 4s"},
			logLine{at(6), "[warning] %[1]s connection %[1]s (%[2]s - muted): late heartbeats from client, nothing received for 6s, timeout: 4s"},
			logLine{at(7), "[info] %[1]s fault cleared on connection %[1]s (%[2]s - muted): mute-heartbeats, expired after 4s"},
			logLine{at(12), "[error] %[1]s missed heartbeats from client, timeout: 4s"})
		if n := len(logs.Lines("late heartbeats")); n != 1 {
			t.Fatalf("%d late warnings, want 1 per silence", n)
		}
	})
}

// Slowed heartbeats come every factor·T/2 from when the fault was set, a
// factor that is not a whole number included.
func TestSynctestFaultSlowHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{HeartbeatWarn: broker.None})
		r, done := pipeConn(t, srv)
		r.Connect("slow", 10) // sender ticks every 5 s; a silent client is closed at 30 s
		t0 := time.Now()
		got, end := drain(r)
		if err := srv.SetFault("slow", broker.Fault{Kind: broker.FaultSlowHeartbeats, Factor: 2.5}); err != nil {
			t.Fatal(err)
		}
		fs, dropped := collect(got, end, done)
		beats, _ := split(fs, t0, dropped)
		wantTimes(t, "heartbeats", beats, secs(12.5, 25))
		if dropped.Sub(t0) != 30*time.Second {
			t.Fatalf("dropped at %v, want 30s", dropped.Sub(t0))
		}
		info := endedConn(t, srv)
		wantLogs(t, logs, info,
			logLine{t0, "[warning] %[1]s fault injected on connection %[1]s (%[2]s - slow): slow-heartbeats, factor 2.5"},
			logLine{t0.Add(30 * time.Second), "[info] %[1]s fault cleared on connection %[1]s (%[2]s - slow): slow-heartbeats, ended with the connection after 30s"})
		if len(logs.Lines("late heartbeats")) != 0 || info.Telemetry.LateWarnings != 0 {
			t.Fatal("late warning with HeartbeatWarn None")
		}
	})
}

// Frozen outbound: the reply to a method sent during the freeze is held, not
// lost, and leaves the moment the fault expires; heartbeats due meanwhile
// are skipped. The broker's detection runs on: a client silent since 2 s is
// warned about at 8 s and closed at 12 s.
func TestSynctestFaultFreezeOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("frozen", 4)
		t0 := time.Now()
		got, end := drain(r)
		time.Sleep(time.Second)
		if err := srv.SetFault("frozen", broker.Fault{Kind: broker.FaultFreezeOut, For: 4500 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		sendAsync(r, nil, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.ChannelOpen{})))
		fs, dropped := collect(got, end, done)
		beats, others := split(fs, t0, dropped)
		wantTimes(t, "channel.open-ok", others, secs(5.5))
		wantTimes(t, "heartbeats", beats, secs(8, 10))
		if dropped.Sub(t0) != 12*time.Second {
			t.Fatalf("dropped at %v, want 12s", dropped.Sub(t0))
		}
		info := endedConn(t, srv)
		wantLogs(t, logs, info,
			logLine{t0.Add(8 * time.Second), "[warning] %[1]s connection %[1]s (%[2]s - frozen): late heartbeats from client, nothing received for 6s, timeout: 4s"})
	})
}

// Frozen inbound: nothing is read until the fault ends, then what waited is
// handled at once.
func TestSynctestFaultFreezeIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("deaf", 4)
		t0 := time.Now()
		got, end := drain(r)
		time.Sleep(time.Second)
		if err := srv.SetFault("deaf", broker.Fault{Kind: broker.FaultFreezeIn, For: 4 * time.Second}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		sendAsync(r, nil, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.ChannelOpen{})))
		time.Sleep(5 * time.Second)
		_ = r.Conn.Close()
		fs, dropped := collect(got, end, done)
		_, others := split(fs, t0, dropped)
		wantTimes(t, "channel.open-ok", others, secs(5))
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonUnexpectedClose {
			t.Fatalf("reason %v", info.Reason)
		}
		wantLogs(t, logs, info,
			logLine{t0.Add(time.Second), "[warning] %[1]s fault injected on connection %[1]s (%[2]s - deaf): freeze-in, for 4s"},
			logLine{t0.Add(5 * time.Second), "[info] %[1]s fault cleared on connection %[1]s (%[2]s - deaf): freeze-in, expired after 4s"})
	})
}

// Half-open: both directions dropped, the socket kept open. The broker's own
// receiver finds out as for a vanished peer: the client's heartbeats after
// the fault no longer count, so the last one that did (1.5 s) is followed by
// a late warning at 5 s and the close at 6 s (RST, missed heartbeats); the
// broker's heartbeats stop at the fault.
func TestSynctestFaultHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("vanished", 2)
		t0 := time.Now()
		got, end := drain(r)
		beating := make(chan struct{})
		go func() { // the client beats at 0.5 s, 1.5 s, 2.5 s ... until the socket ends
			defer close(beating)
			time.Sleep(500 * time.Millisecond)
			for range 20 {
				if _, err := r.Conn.Write(brokertest.FrameBytes(frames.TypeHeartbeat, 0, nil)); err != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}()
		time.Sleep(2250 * time.Millisecond)
		if err := srv.SetFault("vanished", broker.Fault{Kind: broker.FaultHalfOpen}); err != nil {
			t.Fatal(err)
		}
		fs, dropped := collect(got, end, done)
		<-beating
		beats, others := split(fs, t0, dropped)
		wantTimes(t, "heartbeats", beats, secs(1, 2))
		wantTimes(t, "other frames", others, nil)
		if dropped.Sub(t0) != 6*time.Second {
			t.Fatalf("dropped at %v, want 6s", dropped.Sub(t0))
		}
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", info.Reason)
		}
		tm := info.Telemetry
		if tm.HeartbeatsReceived != 2 || tm.LastInterval != time.Second || tm.MedianInterval != time.Second {
			t.Fatalf("telemetry %+v", tm)
		}
		wantLogs(t, logs, info,
			logLine{t0.Add(5 * time.Second), "[warning] %[1]s connection %[1]s (%[2]s - vanished): late heartbeats from client, nothing received for 3.5s, timeout: 2s"},
			logLine{t0.Add(6 * time.Second), "[error] %[1]s missed heartbeats from client, timeout: 2s"})
	})
}

// Latency delays every outbound write by its amount.
func TestSynctestFaultLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("far", 0)
		t0 := time.Now()
		got, end := drain(r)
		if err := srv.SetFault("far", broker.Fault{Kind: broker.FaultLatency, Latency: 300 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		sendAsync(r, nil, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.ChannelOpen{})))
		time.Sleep(time.Second)
		_ = r.Conn.Close()
		fs, dropped := collect(got, end, done)
		_, others := split(fs, t0, dropped)
		wantTimes(t, "channel.open-ok", others, secs(1.3))
	})
}

// Reset: RST at once, no connection.close, its own close reason.
func TestSynctestFaultReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("doomed", 60)
		got, end := drain(r)
		time.Sleep(time.Second)
		t1 := time.Now()
		if err := srv.SetFault("doomed", broker.Fault{Kind: broker.FaultReset, For: time.Hour}); err != nil {
			t.Fatal(err)
		}
		fs, dropped := collect(got, end, done)
		if len(fs) != 0 || !dropped.Equal(t1) {
			t.Fatalf("frames %v, dropped %v after the fault", fs, dropped.Sub(t1))
		}
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonFaultReset {
			t.Fatalf("reason %v", info.Reason)
		}
		wantLogs(t, logs, info,
			logLine{t1, "[warning] %[1]s fault injected on connection %[1]s (%[2]s - doomed): reset"})
		if err := srv.SetFault("doomed", broker.Fault{Kind: broker.FaultMuteHeartbeats}); !errors.Is(err, broker.ErrNoConnection) {
			t.Fatalf("fault on an ended connection: %v", err)
		}
	})
}

// Bad requests change nothing: an unknown connection, an unknown kind (the
// error lists the kinds), bad parameters, slow heartbeats without heartbeats.
// Replacing a fault ends the old one; clearing logs it.
func TestSynctestFaultRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("calm", 0)
		for _, tc := range []struct {
			name string
			f    broker.Fault
			want string
		}{
			{"nobody", broker.Fault{Kind: broker.FaultMuteHeartbeats}, "no such connection"},
			{"calm", broker.Fault{Kind: 42}, "valid kinds are mute-heartbeats, slow-heartbeats, freeze-out, freeze-in, half-open, latency, reset"},
			{"calm", broker.Fault{Kind: broker.FaultSlowHeartbeats, Factor: 0.5}, "at least 1"},
			{"calm", broker.Fault{Kind: broker.FaultSlowHeartbeats}, "no heartbeat"},
			{"calm", broker.Fault{Kind: broker.FaultLatency}, "positive latency"},
			{"calm", broker.Fault{Kind: broker.FaultMuteHeartbeats, Latency: time.Second}, "latency fault only"},
			{"calm", broker.Fault{Kind: broker.FaultFreezeIn, For: -1}, "negative"},
		} {
			if err := srv.SetFault(tc.name, tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetFault(%q, %+v) = %v, want %q", tc.name, tc.f, err, tc.want)
			}
		}
		if _, err := broker.ParseFaultKind("jitter"); !errors.Is(err, broker.ErrUnknownFaultKind) {
			t.Fatalf("ParseFaultKind: %v", err)
		}
		if c := srv.Connections()[0]; c.Fault.Kind != broker.FaultNone || len(logs.Lines("fault")) != 0 {
			t.Fatalf("a refused fault changed something: %+v\n%s", c.Fault, logs)
		}
		if err := srv.SetFault("calm", broker.Fault{Kind: broker.FaultLatency, Latency: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if err := srv.SetFault("calm", broker.Fault{Kind: broker.FaultMuteHeartbeats}); err != nil {
			t.Fatal(err)
		}
		if c := srv.Connections()[0]; c.Fault.Kind != broker.FaultMuteHeartbeats {
			t.Fatalf("fault in force %v", c.Fault.Kind)
		}
		if err := srv.ClearFault("calm"); err != nil {
			t.Fatal(err)
		}
		if err := srv.ClearFault("nobody"); !errors.Is(err, broker.ErrNoConnection) {
			t.Fatalf("ClearFault(nobody) = %v", err)
		}
		if c := srv.Connections()[0]; c.Fault.Kind != broker.FaultNone {
			t.Fatalf("fault in force after ClearFault: %v", c.Fault.Kind)
		}
		for _, want := range []string{"latency, replaced after 0s", "mute-heartbeats, cleared after 0s"} {
			if len(logs.Lines(want)) != 1 {
				t.Fatalf("no %q in\n%s", want, logs)
			}
		}
		_ = r.Conn.Close()
		<-done
	})
}

// A frozen-out connection whose reader is blocked on a held reply, and whose
// client then falls silent, is still closed by the broker's receiver (a net.Pipe
// has nothing waiting unread), and the close ends the freeze.
func TestSynctestFaultFreezeOutBlockedReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, logs := newServer(t, broker.Config{})
		r, done := pipeConn(t, srv)
		r.Connect("stuck", 4)
		t0 := time.Now()
		got, end := drain(r)
		time.Sleep(time.Second)
		if err := srv.SetFault("stuck", broker.Fault{Kind: broker.FaultFreezeOut}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		sendAsync(r, nil, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.ChannelOpen{})))
		fs, dropped := collect(got, end, done)
		beats, others := split(fs, t0, dropped)
		wantTimes(t, "heartbeats", beats, nil)
		wantTimes(t, "other frames", others, nil)
		if dropped.Sub(t0) != 12*time.Second {
			t.Fatalf("dropped at %v, want 12s", dropped.Sub(t0))
		}
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", info.Reason)
		}
		wantLogs(t, logs, info,
			logLine{t0.Add(12 * time.Second), "[info] %[1]s fault cleared on connection %[1]s (%[2]s - stuck): freeze-out, ended with the connection after 11s"},
			logLine{t0.Add(12 * time.Second), "[error] %[1]s missed heartbeats from client, timeout: 4s"})
	})
}
