//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// deadPeerT is the heartbeat both clients ask for. beatmq's bound is counted
// in it: a blocked connection whose peer's host vanished is closed within 3T.
const deadPeerT = 2 * time.Second

// TestDeadPeerWhileBlocked is rabbitmq-server#384 with a real vanished host.
// Two amqp091-go clients, each in its own network namespace on a bridge the
// test makes, hold 3 unacked deliveries each and publish while the memory
// alarm is on, so the broker blocks both and stops reading them. Then one
// host's link goes down: no FIN, no RST, its octets simply stop.
//
// beatmq must close that connection within 3T of the link going down, with
// its own log line, and requeue its 3 deliveries, while the other client,
// as blocked but alive, stays connected (at least 5T blocked) and runs again
// when the alarm clears. RabbitMQ (BEATMQ_TARGET=rabbitmq, make
// deadpeer-rabbitmq) pauses its receiver and only notices heartbeat send
// failures, which a vanished host never causes before TCP gives up: the test
// records that it keeps the connection for the whole wait (90 s), and how
// soon after the alarm clears it closes it.
func TestDeadPeerWhileBlocked(t *testing.T) {
	lab := newNetLab(t, 2)
	kind := os.Getenv("BEATMQ_TARGET")
	if kind == "" {
		kind = "beatmq"
	}
	b, err := startLabBroker(t.TempDir(), lab.BridgeIP())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	gone, live := "deadpeer-gone-"+lab.id, "deadpeer-live-"+lab.id // connection and queue names
	prefill(t, b.URL(), gone, live)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	peers := []*peerProc{
		startPeer(t, lab.Command(0, exe, "-test.run=^$"), b.URL(), gone, gone, deadPeerT),
		startPeer(t, lab.Command(1, exe, "-test.run=^$"), b.URL(), live, live, deadPeerT),
	}
	for _, p := range peers {
		p.expect(t, "consumed 3", 30*time.Second)
	}
	if err := b.SetAlarm(ctx, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.SetAlarm(context.Background(), false) })
	for _, p := range peers {
		p.send(t, "publish")
	}
	for _, p := range peers {
		p.expect(t, "blocked", 40*time.Second)
	}
	waitStates(t, ctx, b, 30*time.Second, func(s map[string]string) bool { return s[gone] == "blocked" && s[live] == "blocked" })
	blockedAt := time.Now()

	// Vanish some time into the block, at a random phase against the
	// broker's checks (right after the block, the bound is met through the
	// first check after Pause, which only records).
	time.Sleep(deadPeerT + rand.N(deadPeerT))
	lab.Vanish(0)
	downAt := time.Now()
	wait := 6 * deadPeerT // twice the bound
	if kind == "rabbitmq" {
		wait = 90 * time.Second
	}
	// Poll until the vanished client's connection is gone or the wait ends,
	// and, for beatmq, at least until the live one has been blocked 5T.
	var goneAfter time.Duration
	liveSeen := time.Time{}
	for deadline := downAt.Add(wait); time.Now().Before(deadline); time.Sleep(b.PollEvery()) {
		s, err := b.States(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s[live] != "blocked" {
			t.Fatalf("%.1f s after the other host vanished, the live blocked client is %q, want blocked", time.Since(downAt).Seconds(), s[live])
		}
		liveSeen = time.Now()
		if _, ok := s[gone]; !ok && goneAfter == 0 {
			goneAfter = time.Since(downAt)
		}
		if goneAfter != 0 && (kind == "rabbitmq" || liveSeen.Sub(blockedAt) >= 5*deadPeerT) {
			break
		}
	}

	switch kind {
	case "rabbitmq":
		if goneAfter != 0 {
			t.Errorf("RabbitMQ closed the blocked connection of the vanished host %.1f s after its link went down; docs/heartbeat-semantics.md says it never does until the block ends", goneAfter.Seconds())
		} else {
			t.Logf("deadpeer rabbitmq: the vanished host's blocked connection was still open %.0f s after its link went down", wait.Seconds())
		}
		clearedAt := time.Now()
		if err := b.SetAlarm(ctx, false); err != nil {
			t.Fatal(err)
		}
		after := waitGone(t, ctx, b, gone, 60*time.Second)
		if after == 0 {
			t.Errorf("RabbitMQ kept the vanished host's connection 60 s after the alarm cleared")
		}
		if at, ok := logHas(t, b.LogPath(), gone, "missed heartbeats from client, timeout: 2s"); ok {
			t.Logf("deadpeer rabbitmq: closed (log time) %.2f s after the alarm was cleared, %.2f s after the link went down", at.Sub(clearedAt).Seconds(), at.Sub(downAt).Seconds())
		}
		t.Logf("deadpeer rabbitmq: the live blocked client stayed connected and blocked for %.1f s (%.1f T)", liveSeen.Sub(blockedAt).Seconds(), float64(liveSeen.Sub(blockedAt))/float64(deadPeerT))
	default:
		if goneAfter == 0 {
			t.Fatalf("beatmq kept the vanished host's blocked connection %v after its link went down; the bound is 3T = %v", wait, 3*deadPeerT)
		}
		t.Logf("deadpeer beatmq: the vanished host's blocked connection closed %.2f s after its link went down (T = %v, bound 3T = %v)", goneAfter.Seconds(), deadPeerT, 3*deadPeerT)
		// The last acknowledgement comes at most T/2 before the link goes
		// down (a heartbeat every T/2), and the close 2T to 3T after it:
		// 1.5T to 3T after the link went down. Allowed: 3T plus the polling
		// period and a second of slack for a loaded machine; earlier than T
		// would mean something else closed it.
		if goneAfter > 3*deadPeerT+b.PollEvery()+time.Second || goneAfter < deadPeerT {
			t.Errorf("closed %.2f s after the link went down, want between 1.5T and 3T (%v..%v)", goneAfter.Seconds(), deadPeerT*3/2, 3*deadPeerT)
		}
		t.Logf("deadpeer beatmq: the live blocked client stayed connected and blocked for %.1f s (%.1f T)", liveSeen.Sub(blockedAt).Seconds(), float64(liveSeen.Sub(blockedAt))/float64(deadPeerT))
		if liveSeen.Sub(blockedAt) < 5*deadPeerT {
			t.Errorf("the live client was watched blocked for only %v, want at least 5T", liveSeen.Sub(blockedAt))
		}
		if at, ok := logHas(t, b.LogPath(), gone, "peer unreachable while blocked: heartbeats sent, none acknowledged by its TCP stack, timeout: 2s"); ok {
			t.Logf("deadpeer beatmq: closed (log time) %.2f s after the link went down", at.Sub(downAt).Seconds())
		}
		for _, q := range []struct {
			name  string
			ready int
		}{{gone, 3}, {live, 0}} {
			if n, err := b.Ready(ctx, q.name); err != nil || n != q.ready {
				t.Errorf("queue %s: %d ready (%v), want %d: the closed connection's deliveries go back to their queue", q.name, n, err, q.ready)
			}
		}
		if err := b.SetAlarm(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitStates(t, ctx, b, 15*time.Second, func(s map[string]string) bool { return s[live] == "running" })
	}
}

// prefill declares the queues (not exclusive, not auto-deleted: they outlive
// the clients) and puts 3 messages in each, from the host's namespace.
func prefill(t *testing.T, url string, queues ...string) {
	t.Helper()
	conn, err := amqp091.DialConfig(url, amqp091.Config{Dial: amqp091.DefaultDial(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, amqp091.Publishing{Body: fmt.Appendf(nil, "m%d", i)})
			if err == nil {
				var ok bool
				ok, err = dc.WaitContext(ctx)
				if err == nil && !ok {
					err = fmt.Errorf("nacked")
				}
			}
			cancel()
			if err != nil {
				t.Fatalf("publish to %s: %v", q, err)
			}
		}
	}
}

// waitStates polls the broker's connection states until ok holds, failing
// the test after timeout.
func waitStates(t *testing.T, ctx context.Context, b labBroker, timeout time.Duration, ok func(map[string]string) bool) {
	t.Helper()
	var s map[string]string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(b.PollEvery()) {
		var err error
		if s, err = b.States(ctx); err != nil {
			t.Fatal(err)
		}
		if ok(s) {
			return
		}
	}
	t.Fatalf("connection states after %v: %v", timeout, s)
}

// waitGone polls until connection name is gone and returns how long that
// took, or 0 after timeout.
func waitGone(t *testing.T, ctx context.Context, b labBroker, name string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		s, err := b.States(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s[name]; !ok {
			return time.Since(start)
		}
		time.Sleep(b.PollEvery())
	}
	return 0
}

// logHas checks that the broker's log has a line with want right after the
// "closing AMQP connection" line of connection name (RabbitMQ's two-line
// error layout), and returns the line's timestamp.
func logHas(t *testing.T, path, name, want string) (time.Time, bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return time.Time{}, false
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.Contains(l, "closing AMQP connection") && strings.Contains(l, " - "+name+")") && i+1 < len(lines) && strings.Contains(lines[i+1], want) {
			t.Logf("deadpeer log: %s", l)
			t.Logf("deadpeer log: %s", lines[i+1])
			// Both brokers start a line with "2026-12-02 20:08:32.216746+00:00".
			stamp, _, _ := strings.Cut(l, " [")
			at, err := time.Parse("2006-01-02 15:04:05.999999-07:00", stamp)
			if err != nil {
				t.Errorf("log line time %q: %v", stamp, err)
				return time.Time{}, false
			}
			return at, true
		}
	}
	t.Errorf("log %s has no close of %s followed by %q", path, name, want)
	return time.Time{}, false
}
