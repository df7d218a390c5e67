package logscan

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		name                   string
		log                    string // one entry, possibly several lines
		kind                   Kind
		peer, cname, tmo, sile string
	}{
		{"3.10 accepting", "2026-12-02 19:56:23.729518+00:00 [info] <0.680.0> accepting AMQP connection <0.680.0> (127.0.0.1:51985 -> 127.0.0.1:36641)",
			KindOpened, "127.0.0.1:51985", "", "", ""},
		{"3.13 accepting, no pid or parentheses", "2024-10-04 03:38:35.600956-04:00 [info] <0.899.0> accepting AMQP connection 127.0.0.1:57604 -> 127.0.0.1:5672",
			KindOpened, "127.0.0.1:57604", "", "", ""},
		{"named", "2026-12-02 19:56:23.733881+00:00 [info] <0.680.0> connection <0.680.0> (127.0.0.1:51985 -> 127.0.0.1:36641) has a client-provided name: my app (worker 1)",
			KindNamed, "127.0.0.1:51985", "my app (worker 1)", "", ""},
		{"3.13 named", "2025-06-03 15:03:51.015498+00:00 [info] <0.1516.0> connection 192.168.65.1:54477 -> 172.17.0.2:5672 has a client-provided name: svc",
			KindNamed, "192.168.65.1:54477", "svc", "", ""},
		{"clean, open", "2026-12-02 19:56:23.936839+00:00 [info] <0.680.0> closing AMQP connection <0.680.0> (127.0.0.1:51985 -> 127.0.0.1:36641 - logscen-clean, vhost: '/', user: 'guest')",
			KindClosedClean, "127.0.0.1:51985", "logscen-clean", "", ""},
		{"3.13 clean with duration", "2025-04-07 05:42:06.712040+00:00 [info] <0.962.0> closing AMQP connection (172.18.0.10:51928 -> 172.18.0.2:5672, vhost: '/', user: 'guest', duration: '21ms')",
			KindClosedClean, "172.18.0.10:51928", "", "", ""},
		{"unexpected", "2026-12-02 19:56:24.383743+00:00 [warning] <0.702.0> closing AMQP connection <0.702.0> (127.0.0.3:33637 -> 127.0.0.1:36641 - logscen-abrupt, vhost: '/', user: 'guest'):\n" +
			"2026-12-02 19:56:24.383743+00:00 [warning] <0.702.0> client unexpectedly closed TCP connection",
			KindClosedUnexpected, "127.0.0.3:33637", "logscen-abrupt", "", ""},
		{"3.12 unexpected with duration", "2025-06-23 06:23:14.211604+09:00 [warning] <0.3241533.0> closing AMQP connection <0.3241533.0> (10.0.2.22:57550 -> 10.0.2.21:5672, vhost: 'myvhost', user: 'ubuntu', duration: '1M, 29s'):\n" +
			"2025-06-23 06:23:14.211604+09:00 [warning] <0.3241533.0> client unexpectedly closed TCP connection",
			KindClosedUnexpected, "10.0.2.22:57550", "", "", ""},
		{"missed heartbeats", "2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> closing AMQP connection <0.718.0> (127.0.0.4:41145 -> 127.0.0.1:36641 - logscen-hb1):\n" +
			"2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> missed heartbeats from client, timeout: 1s",
			KindMissedHeartbeats, "127.0.0.4:41145", "logscen-hb1", "1s", ""},
		{"3.8 missed heartbeats", "2021-03-04 10:11:12.345 [error] <0.1234.0> closing AMQP connection <0.1234.0> (10.0.0.5:50000 -> 10.0.0.1:5672):\nmissed heartbeats from client, timeout: 60s",
			KindMissedHeartbeats, "10.0.0.5:50000", "", "60s", ""},
		{"beatmq JSON missed heartbeats", `{"time":"2026-12-02T19:56:51.9Z","level":"error","msg":"closing AMQP connection <0.6.0> (127.0.0.4:37 -> 127.0.0.1:40505 - hb): missed heartbeats from client, timeout: 1s","conn":"<0.6.0>","reason":"missed_heartbeats","timeout_s":1}`,
			KindMissedHeartbeats, "127.0.0.4:37", "hb", "1s", ""},
		{"handshake timeout", "2026-12-02 19:56:34.930579+00:00 [error] <0.739.0> closing AMQP connection <0.739.0> (127.0.0.5:36705 -> 127.0.0.1:36641):\n" +
			"2026-12-02 19:56:34.930579+00:00 [error] <0.739.0> {handshake_timeout,frame_header}",
			KindHandshakeTimeout, "127.0.0.5:36705", "", "", ""},
		{"auth failure", "2026-12-02 19:56:25.082109+00:00 [error] <0.742.0> Error on AMQP connection <0.742.0> (127.0.0.1:46841 -> 127.0.0.1:36641, state: starting):\n" +
			"2026-12-02 19:56:25.082109+00:00 [error] <0.742.0> PLAIN login refused: user 'guest' - invalid credentials",
			KindAuthFailure, "127.0.0.1:46841", "", "", ""},
		{"other close", "2026-12-02 19:56:34.930579+00:00 [error] <0.9.0> closing AMQP connection <0.9.0> (127.0.0.5:1 -> 127.0.0.1:2 - x):\n" +
			"2026-12-02 19:56:34.930579+00:00 [error] <0.9.0> fatal_frame_error",
			KindClosedOther, "127.0.0.5:1", "x", "", ""},
		{"health check", "2026-12-02 19:56:34.930579+00:00 [debug] <0.9.0> closing AMQP connection <0.9.0> (127.0.0.5:1 -> 127.0.0.1:2):\n" +
			"2026-12-02 19:56:34.930579+00:00 [debug] <0.9.0> connection_closed_with_no_data_received",
			KindIgnored, "127.0.0.5:1", "", "", ""},
		{"late heartbeat, text", "2026-12-02 19:56:27.1+00:00 [warning] <0.7.0> client heartbeat late on connection <0.7.0> (127.0.0.4:9 -> 127.0.0.1:2 - w): silence: 1.5s, timeout: 2s",
			KindLateHeartbeat, "", "", "2s", "1.5s"},
		{"late heartbeat, JSON with slog durations", `{"time":"2026-12-02T19:56:51.9Z","level":"warning","msg":"client heartbeat late","conn":"<0.6.0>","peer":"127.0.0.4:37","name":"w","silence":1500000000,"timeout":2000000000}`,
			KindLateHeartbeat, "127.0.0.4:37", "w", "2s", "1.5s"},
		{"late heartbeats, beatmq's wording", "2026-12-02 19:56:27.1+00:00 [warning] <0.7.0> connection <0.7.0> (127.0.0.4:9 -> 127.0.0.1:2 - muted): late heartbeats from client, nothing received for 3.5s, timeout: 2s",
			KindLateHeartbeat, "127.0.0.4:9", "muted", "2s", "3.5s"},
		{"late heartbeats, beatmq's wording, JSON", `{"time":"2026-12-02T19:56:51.9Z","level":"warning","msg":"connection <0.6.0> (127.0.0.4:37 -> 127.0.0.1:2): late heartbeats from client, nothing received for 6s, timeout: 4s","conn":"<0.6.0>","timeout_s":4,"silence_s":6.001}`,
			KindLateHeartbeat, "127.0.0.4:37", "", "4s", "6s"},
		{"late heartbeats, JSON attributes only", `{"time":"2026-12-02T19:56:51.9Z","level":"warning","msg":"connection <0.6.0> (127.0.0.4:37 -> 127.0.0.1:2): late heartbeats from client","conn":"<0.6.0>","timeout_s":4,"silence_s":6.5}`,
			KindLateHeartbeat, "127.0.0.4:37", "", "4s", "6.5s"},
		{"authenticated: nothing", "2026-12-02 19:56:23.735805+00:00 [info] <0.680.0> connection <0.680.0> (127.0.0.1:51985 -> 127.0.0.1:36641 - logscen-clean): user 'guest' authenticated and granted access to vhost '/'",
			KindNone, "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var es []*Entry
			r := NewReader(func(e *Entry) { es = append(es, e) })
			for _, l := range strings.Split(c.log, "\n") {
				r.Line(l)
			}
			r.Flush()
			if len(es) != 1 {
				t.Fatalf("%d entries: %q", len(es), texts(es))
			}
			ev, ok := Match(es[0])
			if c.kind == KindNone {
				if ok {
					t.Fatalf("matched %+v", ev)
				}
				return
			}
			if !ok || ev.Kind != c.kind || ev.Peer != c.peer || ev.Name != c.cname || ev.Timeout != c.tmo || ev.Silence != c.sile {
				t.Fatalf("Match = %+v, %v; want kind %v peer %q name %q timeout %q silence %q", ev, ok, c.kind, c.peer, c.cname, c.tmo, c.sile)
			}
		})
	}
}
