package logscan

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseLine checks that the line parser, the joiner and the message
// table never panic and keep their invariants, whatever the line. The seed
// corpus (testdata/fuzz/FuzzParseLine) holds lines of every layout, taken
// from the checked-in logs and from RabbitMQ 3.8 and 3.13's layouts.
func FuzzParseLine(f *testing.F) {
	f.Add("2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> missed heartbeats from client, timeout: 1s")
	f.Add(`{"time":"2026-12-02T19:56:48Z","level":"info","msg":"accepting AMQP connection <0.1.0> (p:1 -> l:2)","conn":"<0.1.0>"}`)
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := ParseLine(s)
		if ok {
			if l.Level == "" && l.Layout != LayoutJSON {
				t.Fatalf("text line without a level: %q", s)
			}
			if l.Layout != LayoutJSON && !strings.Contains(s, l.Msg) {
				t.Fatalf("message %q is not in the line %q", l.Msg, s)
			}
			if l.Time.IsZero() {
				t.Fatalf("zero time from %q", s)
			}
		}
		// The line as a stream of its own, and split at every newline.
		var n int
		r := NewReader(func(e *Entry) {
			n++
			ev, ok := Match(e)
			if ok && (ev.Kind == KindNone || !ev.Time.Equal(e.Time)) {
				t.Fatalf("bad event %+v", ev)
			}
		})
		if _, err := r.ReadFrom(strings.NewReader(s)); err != nil && utf8.ValidString(s) && !strings.HasPrefix(s, "\x1f\x8b") {
			t.Fatalf("read error on plain input: %v", err)
		}
		st := r.Stats()
		if n != st.Entries || st.Unreadable > st.Lines || st.Entries > st.Lines {
			t.Fatalf("%d emitted, stats %+v", n, st)
		}
	})
}

// FuzzSummary reads arbitrary bytes as a whole log, twice gzipped or not,
// and summarises it: no panic, and the totals are the sum over clients.
func FuzzSummary(f *testing.F) {
	f.Add([]byte("2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> closing AMQP connection <0.718.0> (127.0.0.4:41145 -> 127.0.0.1:36641 - logscen-hb1):\n" +
		"2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> missed heartbeats from client, timeout: 1s\n"))
	f.Add([]byte("2021-03-04 10:11:12.345 [error] <0.1.0> closing AMQP connection <0.1.0> (a:1 -> b:2):\nmissed heartbeats from client, timeout: 60s\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Summarizer
		s.Read("fuzz", bytes.NewReader(b))
		sum := s.Summary(Options{})
		var opened, abnormal int
		for _, g := range sum.Clients {
			opened += g.Opened
			abnormal += g.AbnormalCloses
		}
		if opened != sum.Totals.Opened || abnormal != sum.Totals.Abnormal() {
			t.Fatalf("clients add up to %d opened, %d abnormal; totals %+v", opened, abnormal, sum.Totals)
		}
		var tl int
		for _, bk := range sum.Timeline.Buckets {
			tl += bk.Opened
		}
		if tl != sum.Totals.Opened {
			t.Fatalf("timeline has %d opened, totals %d", tl, sum.Totals.Opened)
		}
	})
}
