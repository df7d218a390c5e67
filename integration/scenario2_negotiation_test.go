//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNegotiation is scenario 2: each client asks for 0, 1, 5 and 600 s; the
// value it ends up with must be the one negotiationExpected gives for it (what
// the same client gets from RabbitMQ 3.10.8), and the broker's own view of each
// connection must hold the same value. The four connections of a client are open
// at the same time; the broker is asked once for all of them.
func TestNegotiation(t *testing.T) { negotiation(t, plainTCP) }

// TestNegotiationTLS is scenario 2 over the broker's amqps listener: the
// same values, and the broker lists each connection as ssl.
func TestNegotiationTLS(t *testing.T) { negotiation(t, overTLS) }

func negotiation(t *testing.T, tr transport) {
	b := broker(t)
	for _, c := range clients {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			slot(t) // four connections each, one with a 1 s heartbeat
			var detail string
			row := tr.row(c.Name)
			cell(t, colNegotiation, row, &detail)
			exp, ok := negotiationExpected[c.Name]
			if !ok {
				t.Fatalf("no expected negotiation row for %s in expected_test.go", c.Name)
			}
			sessions := map[int]*session{}
			names := map[int]string{}
			for _, ask := range negotiationAsks {
				names[ask] = fmt.Sprintf("interop-negotiation-%s%s-%d", tr.tag(), c.Name, ask)
				sessions[ask] = run(t, c, tr.args(b, scenarioArgs{Scenario: "hold", Port: tr.port(b), Heartbeat: ask, Name: names[ask], Seconds: 60}), 90*time.Second)
			}
			clientView := map[int]int{}
			for _, ask := range negotiationAsks {
				open, err := sessions[ask].WaitOpen(60 * time.Second)
				if err != nil {
					t.Errorf("asks %d: %v", ask, err)
					continue
				}
				if open.Heartbeat == nil {
					t.Errorf("asks %d: the program reported no heartbeat: %s", ask, open.Raw)
					continue
				}
				clientView[ask] = *open.Heartbeat
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			conns, err := b.Connections(ctx)
			cancel()
			if err != nil {
				t.Errorf("the broker's view of its connections: %v", err)
			}
			brokerView := map[string]brokerConn{}
			for _, bc := range conns {
				brokerView[bc.ConnectionName] = bc
			}
			var cells []string
			for _, ask := range negotiationAsks {
				cv, cok := clientView[ask]
				bc, bok := brokerView[names[ask]]
				bv := bc.Timeout
				v := fmt.Sprintf("%s/%s", optInt(cv, cok), optInt(bv, bok))
				recordNegotiation(row, ask, v)
				if bok {
					if err := tr.checkSSL(bc); err != nil {
						t.Error(err)
					}
				}
				cells = append(cells, v)
				if cok && cv != exp[ask] {
					t.Errorf("asks %d: client negotiated %d, want %d (RabbitMQ 3.10.8 with the same client)", ask, cv, exp[ask])
				}
				if err == nil && !bok {
					t.Errorf("asks %d: the broker does not list connection %q", ask, names[ask])
				} else if bok && bv != exp[ask] {
					t.Errorf("asks %d: the broker uses heartbeat %d for the connection, want %d (the client's tune-ok value)", ask, bv, exp[ask])
				}
			}
			detail = strings.Join(cells, " ")
			for _, ask := range negotiationAsks {
				s := sessions[ask]
				s.Stop()
				res, err := s.Result(30 * time.Second)
				if err != nil {
					t.Errorf("asks %d: %v", ask, err)
					continue
				}
				if res.Error != "" || !res.Closed {
					t.Errorf("asks %d: the connection did not stay open and close cleanly: %s%s", ask, res.Raw, s.Stderr())
				}
			}
			var logErr error
			var cl *connLog
			for _, ask := range negotiationAsks {
				var err error
				closed := evCleanClose
				if javaTLSClose(b, tr, c.Name) {
					closed = evTLSAlert
				}
				cl, err = waitConnLog(b, connKey{Name: names[ask], TLS: tr.tls}, []string{evAccepting, evClientName, evAuth, closed},
					[]string{evMissed, evUnexpected}, 5*time.Second)
				if err != nil {
					t.Errorf("asks %d: %v", ask, err)
					logErr = err
				}
			}
			recordLog(row, "negotiation", cl, logErr)
		})
	}
	if wantAmqpTools() {
		t.Run("amqp-tools", func(t *testing.T) {
			t.Parallel()
			slot(t)
			var detail string
			cell(t, colNegotiation, tr.row("amqp-tools"), &detail)
			toolsNegotiation(t, b, tr, &detail)
		})
	}
}

// toolsNegotiation holds one amqp-consume per asked value, each behind a relay so
// the broker's view can be matched by port, and checks the broker's value (the
// programs do not report theirs). Publishing one message to each queue ends each
// amqp-consume cleanly.
func toolsNegotiation(t *testing.T, b target, tr transport, detail *string) {
	exp := negotiationExpected["amqp-tools"]
	type held struct {
		queue string
		relay *relay
		proc  *toolsProc
	}
	hs := map[int]*held{}
	for _, ask := range negotiationAsks {
		h := &held{queue: fmt.Sprintf("interop-negotiation-%samqp-tools-%d", tr.tag(), ask), relay: newRelay(t, tr.addr(b), 60*time.Second)}
		declareQueue(t, b.Port(), h.queue)
		h.proc = startConsume(t, tr.toolsURL(h.relay.Port()), ask, h.queue, 1, 60*time.Second, tr.consumeFlags(b)...)
		hs[ask] = h
	}
	ports := map[int]int{} // ask → the connection's port as the broker sees its peer
	for _, ask := range negotiationAsks {
		st, ok := hs[ask].relay.WaitFor(20*time.Second, func(s relayStats) bool { return s.Accepted })
		if !ok {
			t.Errorf("asks %d: amqp-consume did not connect", ask)
			continue
		}
		ports[ask] = st.BrokerLocalPort
	}
	// One listing for all four, polled until it shows them all.
	byPort := map[int]brokerConn{}
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var conns []brokerConn
		conns, err = b.Connections(ctx)
		cancel()
		for _, c := range conns {
			byPort[c.PeerPort] = c
		}
		all := true
		for _, p := range ports {
			if _, ok := byPort[p]; !ok {
				all = false
			}
		}
		if (err == nil && all) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("the broker's view of its connections: %v", err)
	}
	var cells []string
	for _, ask := range negotiationAsks {
		bc, ok := byPort[ports[ask]]
		ok = ok && ports[ask] != 0
		v := "-/" + optInt(bc.Timeout, ok)
		recordNegotiation(tr.row("amqp-tools"), ask, v)
		cells = append(cells, v)
		if !ok {
			t.Errorf("asks %d: the broker does not list amqp-consume's connection", ask)
			continue
		} else if bc.Timeout != exp[ask] {
			t.Errorf("asks %d: the broker uses heartbeat %d for amqp-consume's connection, want %d", ask, bc.Timeout, exp[ask])
		}
		if err := tr.checkSSL(bc); err != nil {
			t.Error(err)
		}
	}
	*detail = strings.Join(cells, " ")
	for _, ask := range negotiationAsks {
		publishOne(t, b.Port(), hs[ask].queue, "stop")
	}
	for _, ask := range negotiationAsks {
		out, stderr, err, ok := hs[ask].proc.Wait(20 * time.Second)
		switch {
		case !ok:
			t.Errorf("asks %d: amqp-consume still running 20s after its message was published", ask)
		case err != nil:
			t.Errorf("asks %d: amqp-consume: %v: %s", ask, err, stderr)
		case out != "stop":
			t.Errorf("asks %d: amqp-consume printed %q, want %q", ask, out, "stop")
		}
	}
}

// optInt formats v, or "-" when it is missing.
func optInt(v int, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprint(v)
}
