package logscan

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testdata is the checked-in logs (see ../../testdata/README.md).
const testdata = "../../testdata"

func summarize(t *testing.T, o Options, names ...string) Summary {
	t.Helper()
	var s Summarizer
	for _, n := range names {
		f, err := os.Open(filepath.Join(testdata, n))
		if err != nil {
			t.Fatal(err)
		}
		fs := s.Read(n, f)
		f.Close()
		if fs.Error != "" {
			t.Fatalf("%s: %s", n, fs.Error)
		}
	}
	return s.Summary(o)
}

// counts is the part of a summary that must not depend on which broker
// wrote the log: everything but files, line counts and times.
type counts struct {
	Connections  int
	Totals       Counts
	Clients      []Group
	Hosts        []Group
	WorstClients []Group
	WorstHosts   []Group
}

func countsOf(s Summary) counts {
	return counts{s.Connections, s.Totals, s.Clients, s.Hosts, s.WorstClients, s.WorstHosts}
}

func asJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

// TestRabbitMQAndBeatmqLogsAgree is issue 13's check: the same scenarios
// (integration/logscenarios) run against RabbitMQ 3.10.8 and against beatmq
// give the same summary.
func TestRabbitMQAndBeatmqLogsAgree(t *testing.T) {
	rmq := summarize(t, Options{}, "rabbitmq-3.10.8.log")
	want := Counts{Opened: 11, ClosedClean: 3, ClosedUnexpected: 2, MissedHeartbeats: 2,
		MissedHeartbeatTimeouts: map[string]int{"1s": 1, "2s": 1}, HandshakeTimeouts: 2, AuthFailures: 2}
	if !reflect.DeepEqual(rmq.Totals, want) || rmq.Connections != 11 {
		t.Fatalf("RabbitMQ totals %s (%d connections), want %s", asJSON(rmq.Totals), rmq.Connections, asJSON(want))
	}
	if rmq.Unreadable != 0 {
		t.Fatalf("RabbitMQ log: %d unreadable lines", rmq.Unreadable)
	}
	wantClients := map[string]Counts{
		Unnamed:           {Opened: 6, ClosedClean: 1, ClosedUnexpected: 1, MissedHeartbeats: 1, MissedHeartbeatTimeouts: map[string]int{"2s": 1}, HandshakeTimeouts: 2, AuthFailures: 1},
		"logscen-abrupt":  {Opened: 1, ClosedUnexpected: 1},
		"logscen-badpass": {Opened: 1, AuthFailures: 1},
		"logscen-clean":   {Opened: 2, ClosedClean: 2},
		"logscen-hb1":     {Opened: 1, MissedHeartbeats: 1, MissedHeartbeatTimeouts: map[string]int{"1s": 1}},
	}
	if len(rmq.Clients) != len(wantClients) {
		t.Fatalf("clients %s", asJSON(rmq.Clients))
	}
	for _, g := range rmq.Clients {
		if w, ok := wantClients[g.Name]; !ok || !reflect.DeepEqual(g.Counts, w) {
			t.Errorf("client %q: %s, want %s", g.Name, asJSON(g.Counts), asJSON(w))
		}
	}
	if len(rmq.Hosts) != 5 || rmq.WorstHosts[0].Name != "127.0.0.3" || rmq.WorstHosts[0].AbnormalCloses != 2 {
		t.Errorf("hosts %s worst %s", asJSON(rmq.Hosts), asJSON(rmq.WorstHosts))
	}
	if len(rmq.WorstClients) == 0 || rmq.WorstClients[0].Name != Unnamed || rmq.WorstClients[0].AbnormalCloses != 4 {
		t.Errorf("worst clients %s", asJSON(rmq.WorstClients))
	}

	for _, name := range []string{"beatmq.log", "beatmq.json.log"} {
		b := summarize(t, Options{}, name)
		if b.Unreadable != 0 {
			t.Errorf("%s: %d unreadable lines", name, b.Unreadable)
		}
		if got, want := asJSON(countsOf(b)), asJSON(countsOf(rmq)); got != want {
			t.Errorf("%s summary differs from RabbitMQ 3.10.8's:\n%s\nwant\n%s", name, got, want)
		}
	}
}

// TestRotatedGzipped reads the same RabbitMQ log cut in two by rotation, the
// older part gzipped, given newest first: one connection spans both files.
func TestRotatedGzipped(t *testing.T) {
	full := summarize(t, Options{}, "rabbitmq-3.10.8.log")
	rot := summarize(t, Options{}, "rotated/wtlogs@localhost.log", "rotated/wtlogs@localhost.log.1.gz")
	if !rot.Files[1].Gzip || rot.Files[0].Gzip {
		t.Fatalf("gzip detection: %+v", rot.Files)
	}
	if got, want := asJSON(countsOf(rot)), asJSON(countsOf(full)); got != want {
		t.Fatalf("rotated:\n%s\nwant\n%s", got, want)
	}
	if rot.Lines != full.Lines || !rot.First.Equal(*full.First) || !rot.Last.Equal(*full.Last) {
		t.Fatalf("rotated: %d lines %v..%v, want %d %v..%v", rot.Lines, rot.First, rot.Last, full.Lines, full.First, full.Last)
	}
}

// TestInterleavedLogs merges the RabbitMQ and the beatmq logs line by line
// into one stream: nothing unreadable, and the counts add up.
func TestInterleavedLogs(t *testing.T) {
	read := func(n string) []string {
		b, err := os.ReadFile(filepath.Join(testdata, n))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	a, b := read("rabbitmq-3.10.8.log"), read("beatmq.log")
	var merged strings.Builder
	for i := 0; i < len(a) || i < len(b); i++ {
		if i < len(a) {
			merged.WriteString(a[i] + "\n")
		}
		if i < len(b) {
			merged.WriteString(b[i] + "\n")
		}
	}
	var s Summarizer
	s.Read("merged", strings.NewReader(merged.String()))
	got := s.Summary(Options{})
	one := summarize(t, Options{}, "rabbitmq-3.10.8.log")
	if got.Unreadable != 0 || got.Connections != 2*one.Connections {
		t.Fatalf("merged: %d unreadable, %d connections", got.Unreadable, got.Connections)
	}
	w := one.Totals
	if got.Totals.Opened != 2*w.Opened || got.Totals.ClosedClean != 2*w.ClosedClean || got.Totals.ClosedUnexpected != 2*w.ClosedUnexpected ||
		got.Totals.MissedHeartbeats != 2*w.MissedHeartbeats || got.Totals.HandshakeTimeouts != 2*w.HandshakeTimeouts || got.Totals.AuthFailures != 2*w.AuthFailures {
		t.Fatalf("merged totals %s, want twice %s", asJSON(got.Totals), asJSON(w))
	}
}

func TestSinceUntil(t *testing.T) {
	// The missed-heartbeat closes are at 19:56:27 and 19:56:30, the handshake
	// timeouts at 19:56:34, everything else before 19:56:26.
	at := func(s string) time.Time {
		v, _ := time.Parse(time.RFC3339, s)
		return v
	}
	s := summarize(t, Options{Since: at("2026-12-02T19:56:26Z"), Until: at("2026-12-02T19:56:31Z")}, "rabbitmq-3.10.8.log")
	want := Counts{MissedHeartbeats: 2, MissedHeartbeatTimeouts: map[string]int{"1s": 1, "2s": 1}}
	if !reflect.DeepEqual(s.Totals, want) || s.Connections != 2 {
		t.Fatalf("window: %s, %d connections", asJSON(s.Totals), s.Connections)
	}
	// The newest line is 19:57:04.67 (shutdown): 40 s back is 19:56:24.67.
	s = summarize(t, Options{SinceAgo: 40 * time.Second}, "rabbitmq-3.10.8.log")
	if s.Totals.HandshakeTimeouts != 2 || s.Totals.Opened != 4 || s.Totals.ClosedClean != 0 || s.Since == nil {
		t.Fatalf("--since 40s: %s", asJSON(s.Totals))
	}
	s = summarize(t, Options{UntilAgo: time.Hour}, "rabbitmq-3.10.8.log")
	if s.Totals.Opened != 0 || len(s.Timeline.Buckets) != 0 {
		t.Fatalf("--until 1h: %s", asJSON(s))
	}
}

func TestTimeline(t *testing.T) {
	s := summarize(t, Options{}, "rabbitmq-3.10.8.log")
	tl := s.Timeline
	if tl.Interval != "1s" || len(tl.Buckets) != 12 {
		t.Fatalf("timeline %s with %d buckets", tl.Interval, len(tl.Buckets))
	}
	var sum Counts
	for _, b := range tl.Buckets {
		sum.Opened += b.Opened
		sum.MissedHeartbeats += b.MissedHeartbeats
		sum.HandshakeTimeouts += b.HandshakeTimeouts
	}
	if sum.Opened != 11 || sum.MissedHeartbeats != 2 || sum.HandshakeTimeouts != 2 {
		t.Fatalf("buckets add up to %+v", sum)
	}
	s = summarize(t, Options{Interval: 10 * time.Second}, "rabbitmq-3.10.8.log")
	if s.Timeline.Interval != "10s" || len(s.Timeline.Buckets) != 2 {
		t.Fatalf("--interval 10s: %s", asJSON(s.Timeline))
	}
	// A span of days picks a coarser step, at most 24 buckets.
	evs := []*Event{{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Kind: KindOpened}, {Time: time.Date(2026, 1, 9, 5, 0, 0, 0, time.UTC), Kind: KindOpened}}
	if tl := timeline(evs, 0); tl.Interval != "12h0m0s" || len(tl.Buckets) > maxBuckets {
		t.Fatalf("9 days: %s, %d buckets", tl.Interval, len(tl.Buckets))
	}
}

// TestLateHeartbeatsAndPIDReuse: late warnings count for the connection's
// client; a pid that comes back for a new peer is a new connection.
func TestLateHeartbeatsAndPIDReuse(t *testing.T) {
	log := `2026-12-02 10:00:00.000000+00:00 [info] <0.5.0> accepting AMQP connection <0.5.0> (10.0.0.1:1000 -> 10.0.0.9:5672)
2026-12-02 10:00:00.100000+00:00 [info] <0.5.0> connection <0.5.0> (10.0.0.1:1000 -> 10.0.0.9:5672) has a client-provided name: slowpoke
2026-12-02 10:00:10.000000+00:00 [warning] <0.5.0> client heartbeat late: silence: 1.6s, timeout: 2s
2026-12-02 10:00:20.000000+00:00 [warning] <0.5.0> client heartbeat late: silence: 1.8s, timeout: 2s
2026-12-02 10:00:30.000000+00:00 [error] <0.5.0> closing AMQP connection <0.5.0> (10.0.0.1:1000 -> 10.0.0.9:5672 - slowpoke):
2026-12-02 10:00:30.000000+00:00 [error] <0.5.0> missed heartbeats from client, timeout: 2s
2026-12-02 11:00:00.000000+00:00 [warning] <0.5.0> closing AMQP connection <0.5.0> (10.0.0.2:2000 -> 10.0.0.9:5672, vhost: '/', user: 'guest'):
2026-12-02 11:00:00.000000+00:00 [warning] <0.5.0> client unexpectedly closed TCP connection
`
	var s Summarizer
	s.Read("late", bufio.NewReader(strings.NewReader(log)))
	sum := s.Summary(Options{})
	if sum.Connections != 2 || len(sum.Clients) != 2 {
		t.Fatalf("%d connections, clients %s", sum.Connections, asJSON(sum.Clients))
	}
	slow := sum.Clients[1]
	if slow.Name != "slowpoke" || slow.LateHeartbeats != 2 || slow.MissedHeartbeats != 1 || slow.Opened != 1 {
		t.Fatalf("slowpoke: %s", asJSON(slow))
	}
	if un := sum.Clients[0]; un.Name != Unnamed || un.ClosedUnexpected != 1 || un.LateHeartbeats != 0 {
		t.Fatalf("unnamed: %s", asJSON(un))
	}
	if sum.Hosts[1].Name != "10.0.0.2" || sum.Hosts[1].ClosedUnexpected != 1 {
		t.Fatalf("hosts %s", asJSON(sum.Hosts))
	}
}

// TestTimelineExtremeYears: timestamps from year 0 to 9999 (a damaged log)
// give a bounded timeline that still holds every event.
func TestTimelineExtremeYears(t *testing.T) {
	evs := []*Event{
		{Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), Kind: KindOpened},
		{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Kind: KindOpened},
		{Time: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Kind: KindOpened},
	}
	for _, iv := range []time.Duration{0, time.Millisecond, time.Second} {
		tl := timeline(evs, iv)
		n := 0
		for _, b := range tl.Buckets {
			n += b.Opened
		}
		if n != 3 || len(tl.Buckets) > maxTimelineBuckets {
			t.Fatalf("interval %v: %d events in %d buckets of %s", iv, n, len(tl.Buckets), tl.Interval)
		}
	}
}
