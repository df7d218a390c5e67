//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	brokerQuietHeartbeat = 1 // seconds: scenario 4a, the client detects
	clientQuietHeartbeat = 2 // seconds: scenario 4b, the broker detects
)

// clientDetectMax is, per client, the latest a client may notice a silent broker
// after the last octet it received, from the client's own algorithm
// (../shared/docs/heartbeat-semantics.md §b.2) plus slack for a loaded machine:
// amqp091-go read deadline 1.5T; Java 8 missed socket timeouts of T/4 (≈2.25T);
// amqplib two missed checks of T (2–3T); Bunny socket read timeout 2.2T; py-amqp
// 2T without input, checked at each heartbeat_tick; pika checks every T+5 s
// (T+5 to 2(T+5)); librabbitmq (amqp-tools) 2T without input.
func clientDetectMax(client string, T time.Duration) time.Duration {
	slack := 2 * time.Second
	switch client {
	case "go":
		return 3*T/2 + slack
	case "java":
		return 9*T/4 + T/4 + slack
	case "amqplib":
		return 3*T + slack
	case "bunny":
		return 22*T/10 + slack
	case "pika":
		return 2*(T+5*time.Second) + slack
	default: // pyamqp, amqp-tools
		return 2*T + slack
	}
}

// TestBrokerSilent is scenario 4a: a relay between client and broker stops
// forwarding broker → client once the connection is open (heartbeat 1 s). Each
// client must notice the missing heartbeats on its own and report its error; the
// broker, still hearing the client, must not log missed heartbeats, and logs the
// client's departure.
func TestBrokerSilent(t *testing.T) { brokerSilent(t, plainTCP) }

// TestBrokerSilentTLS is scenario 4a over the broker's amqps listener: the
// relay drops the TLS records, and each client notices on the same schedule.
func TestBrokerSilentTLS(t *testing.T) { brokerSilent(t, overTLS) }

func brokerSilent(t *testing.T, tr transport) {
	b := broker(t)
	const T = brokerQuietHeartbeat * time.Second
	for _, c := range clients {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			slot(t)
			var detail string
			row := tr.row(c.Name)
			cell(t, colBrokerQuiet, row, &detail)
			name := "interop-broker-silent-" + tr.tag() + c.Name
			r, s := startDead(t, b, tr, c, name, brokerQuietHeartbeat)
			r.Drop(brokerToClient)
			res, err := s.Result(60 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			st := r.Stats()
			if res.TDetect == nil || res.Error == "" {
				t.Fatalf("the client did not report the silent broker: %s%s", res.Raw, s.Stderr())
			}
			after := when(*res.TDetect).Sub(st.LastB2C)
			detail = fmt.Sprintf("detected after %.2fs", after.Seconds())
			recordDetection(row, 0, fmt.Sprintf("%.2f s (%.2fT)", after.Seconds(), after.Seconds()/T.Seconds()), res.ErrorType+": "+res.Error)
			t.Logf("%s: detected %.2fs after the last octet from the broker: %s: %s", c.Name, after.Seconds(), res.ErrorType, res.Error)
			if max := clientDetectMax(c.Name, T); after < T || after > max {
				t.Errorf("detection %.2fs after the last octet from the broker; want between T=%v and %v (the client's algorithm)", after.Seconds(), T, max)
			}
			cl, err := waitConnLog(b, connKey{Name: name, TLS: tr.tls}, []string{evAccepting, evClientName, evAuth}, []string{evMissed}, 5*time.Second)
			if err == nil {
				cl, err = waitClose(b, connKey{Name: name, TLS: tr.tls}, javaTLSClose(b, tr, c.Name), 10*time.Second)
			}
			recordLog(row, "4a", cl, err)
			if err != nil {
				t.Error(err)
			}
		})
	}
	if wantAmqpTools() {
		t.Run("amqp-tools", func(t *testing.T) {
			t.Parallel()
			slot(t)
			var detail string
			cell(t, colBrokerQuiet, tr.row("amqp-tools"), &detail)
			queue := "interop-broker-silent-" + tr.tag() + "amqp-tools"
			declareQueue(t, b.Port(), queue)
			r := newRelay(t, tr.addr(b), 90*time.Second)
			p := startConsume(t, tr.toolsURL(r.Port()), brokerQuietHeartbeat, queue, 1, 60*time.Second, tr.consumeFlags(b)...)
			st := settle(t, r)
			r.Drop(brokerToClient)
			_, stderr, perr, ok := p.Wait(40 * time.Second)
			if !ok {
				t.Fatal("amqp-consume did not notice the silent broker within 40s")
			}
			st = r.Stats()
			p.mu.Lock()
			after := p.endAt.Sub(st.LastB2C)
			p.mu.Unlock()
			detail = fmt.Sprintf("detected after %.2fs", after.Seconds())
			errText := strings.TrimSpace(stderr)
			if perr != nil {
				errText = perr.Error() + ": " + errText
			}
			recordDetection(tr.row("amqp-tools"), 0, fmt.Sprintf("%.2f s (%.2fT)", after.Seconds(), after.Seconds()/T.Seconds()), errText)
			if perr == nil {
				t.Errorf("amqp-consume exited 0 after the broker went silent; want an error")
			}
			if max := clientDetectMax("amqp-tools", T); after < T || after > max {
				t.Errorf("detection %.2fs after the last octet from the broker; want between T=%v and %v", after.Seconds(), T, max)
			}
			cl, err := waitClose(b, connKey{PeerPort: st.BrokerLocalPort, TLS: tr.tls}, false, 10*time.Second)
			recordLog(tr.row("amqp-tools"), "4a", cl, err)
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// settle waits until amqp-consume (which prints nothing when it is ready) has
// been connected for 1.5 s: long enough to have opened its channel and started
// consuming.
func settle(t *testing.T, r *relay) relayStats {
	t.Helper()
	st, ok := r.WaitFor(20*time.Second, func(s relayStats) bool { return s.Accepted })
	if !ok {
		t.Fatal("amqp-consume did not connect")
	}
	time.Sleep(1500*time.Millisecond - time.Since(st.AcceptedAt))
	return r.Stats()
}

// waitClose waits until the log shows how the connection ended: a clean close or
// "client unexpectedly closed TCP connection" (a client that gave up on a silent
// broker may do either), or with tlsAlert RabbitMQ's TLS alert error (see
// javaTLSClose), and no missed heartbeats.
func waitClose(b target, k connKey, tlsAlert bool, timeout time.Duration) (*connLog, error) {
	deadline := time.Now().Add(timeout)
	for {
		cl, err := checkConnLog(b, k, []string{evAccepting}, []string{evMissed})
		if err == nil {
			if _, ok := cl.Events[evCleanClose]; ok {
				return cl, nil
			}
			if _, ok := cl.Events[evUnexpected]; ok {
				return cl, nil
			}
			if _, ok := cl.Events[evTLSAlert]; ok && tlsAlert {
				return cl, nil
			}
			err = fmt.Errorf("connection %s: neither a clean close nor an unexpected-close line in the broker log", k)
		}
		if time.Now().After(deadline) {
			return cl, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClientSilent is scenario 4b: the relay stops forwarding client → broker
// once the connection is open (heartbeat 2 s). The broker must close the
// connection between 2T and 3T after the last octet it received, without a
// connection.close, and log the missed heartbeats in RabbitMQ's words.
func TestClientSilent(t *testing.T) { clientSilent(t, plainTCP) }

// TestClientSilentTLS is scenario 4b over the broker's amqps listener. The
// frames inside TLS cannot be read, so what the broker sent after the drop is
// judged by its TLS records: heartbeat-sized application data only, at least
// two of them.
func TestClientSilentTLS(t *testing.T) { clientSilent(t, overTLS) }

func clientSilent(t *testing.T, tr transport) {
	b := broker(t)
	const T = clientQuietHeartbeat * time.Second
	check := func(t *testing.T, client string, r *relay, k connKey) (string, bool) {
		st, ok := r.WaitFor(3*T+10*time.Second, func(s relayStats) bool { return !s.BrokerClosed.IsZero() })
		if !ok {
			t.Fatalf("the broker did not close the connection within %v of the drop", 3*T+10*time.Second)
		}
		gap := st.BrokerClosed.Sub(st.LastC2B)
		timing := fmt.Sprintf("%.2f s (%.2fT)", gap.Seconds(), gap.Seconds()/T.Seconds())
		// RabbitMQ closes the socket without a connection.close and keeps
		// sending its own heartbeats (every T/2) until then.
		closeSent, n := hasConnectionClose(st.AfterDropB2C), heartbeatFrames(st.AfterDropB2C)
		if tr.tls {
			// Over TLS RabbitMQ's fast_close sends close_notify first.
			var alert bool
			var other []tlsRecord
			n, alert, other = afterDrop(st.AfterDropB2CRecords)
			closeSent = len(other) > 0
			t.Logf("%s: TLS records after the drop: %v", client, st.AfterDropB2CRecords)
			if !alert {
				t.Errorf("over TLS the broker closed without a close_notify alert after its heartbeats (records %v); RabbitMQ's fast_close sends one", st.AfterDropB2CRecords)
			}
		}
		if closeSent {
			t.Errorf("the broker sent a connection.close (over TLS: a record that is neither a heartbeat nor the closing alert, %v) before closing the socket; RabbitMQ sends none on missed heartbeats", st.AfterDropB2CRecords)
		}
		if n < 2 {
			t.Errorf("the broker sent %d heartbeat frames to the client after the drop; want its own heartbeats every T/2 until the close", n)
		} else {
			timing += fmt.Sprintf(", no close method, %d heartbeats sent meanwhile", n)
		}
		t.Logf("%s: broker closed %.2fs after the last octet it received (%v)", client, gap.Seconds(), st.BrokerErr)
		// Slack: 100 ms early (timer and relay scheduling), 1 s late (a loaded
		// machine delays the broker's timers; 1 s is still well short of 4T).
		if gap < 2*T-100*time.Millisecond || gap > 3*T+time.Second {
			t.Errorf("the broker closed %.2fs after the last octet it received; want 2T–3T (%v–%v)", gap.Seconds(), 2*T, 3*T)
		}
		cl, err := waitConnLog(b, k, []string{evAccepting, evMissed}, []string{evUnexpected, evCleanClose}, 5*time.Second)
		recordLog(client, "4b", cl, err)
		if err != nil {
			t.Error(err)
		} else if cl.Missed != clientQuietHeartbeat {
			t.Errorf("missed heartbeats line says timeout: %ds, want %ds", cl.Missed, clientQuietHeartbeat)
		}
		return timing, !t.Failed()
	}
	for _, c := range clients {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			slot(t)
			var detail string
			row := tr.row(c.Name)
			cell(t, colClientQuiet, row, &detail)
			name := "interop-client-silent-" + tr.tag() + c.Name
			r, s := startDead(t, b, tr, c, name, clientQuietHeartbeat)
			// Let the client send a heartbeat or two first, so the last octet the
			// broker gets falls somewhere inside its check period, not at tune-ok.
			time.Sleep(1300 * time.Millisecond)
			r.Drop(clientToBroker)
			timing, _ := check(t, row, r, connKey{Name: name, TLS: tr.tls})
			detail = "broker closed after " + strings.Fields(timing)[0] + "s"
			res, err := s.Result(30 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			recordDetection(row, 1, timing, res.ErrorType+": "+res.Error)
			if res.Error == "" || res.Alive == nil || *res.Alive {
				t.Errorf("the client did not report the lost connection: %s%s", res.Raw, s.Stderr())
			}
		})
	}
	if wantAmqpTools() {
		t.Run("amqp-tools", func(t *testing.T) {
			t.Parallel()
			slot(t)
			var detail string
			cell(t, colClientQuiet, tr.row("amqp-tools"), &detail)
			queue := "interop-client-silent-" + tr.tag() + "amqp-tools"
			declareQueue(t, b.Port(), queue)
			r := newRelay(t, tr.addr(b), 90*time.Second)
			p := startConsume(t, tr.toolsURL(r.Port()), clientQuietHeartbeat, queue, 1, 60*time.Second, tr.consumeFlags(b)...)
			st := settle(t, r)
			r.Drop(clientToBroker)
			timing, _ := check(t, tr.row("amqp-tools"), r, connKey{PeerPort: st.BrokerLocalPort, TLS: tr.tls})
			detail = "broker closed after " + strings.Fields(timing)[0] + "s"
			_, stderr, perr, ok := p.Wait(20 * time.Second)
			errText := "still running"
			if ok {
				errText = fmt.Sprintf("%v: %s", perr, strings.TrimSpace(stderr))
			}
			recordDetection(tr.row("amqp-tools"), 1, timing, errText)
			if !ok || perr == nil {
				t.Errorf("amqp-consume did not fail after the broker closed its connection: %s", errText)
			}
		})
	}
}

// startDead runs client c's "dead" scenario through a fresh relay to b's
// port for tr, asking for heartbeat hb, and waits until the client reports
// that exact value.
func startDead(t *testing.T, b target, tr transport, c *client, name string, hb int) (*relay, *session) {
	t.Helper()
	r := newRelay(t, tr.addr(b), 90*time.Second)
	s := run(t, c, tr.args(b, scenarioArgs{Scenario: "dead", Port: r.Port(), Heartbeat: hb, Name: name, Seconds: 40}), 90*time.Second)
	open, err := s.WaitOpen(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if open.Heartbeat == nil || *open.Heartbeat != hb {
		t.Fatalf("negotiated heartbeat %s, want %d", intp(open.Heartbeat), hb)
	}
	return r, s
}
