package logscan

import (
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	cases := []struct {
		in     string
		ok     bool
		time   string
		level  string
		pid    string
		msg    string
		layout Layout
	}{
		{"2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> missed heartbeats from client, timeout: 1s", true,
			"2026-12-02T19:56:27.484004Z", "error", "<0.718.0>", "missed heartbeats from client, timeout: 1s", LayoutText},
		{"2022-03-01T10:00:00.123456+02:00 [info] <0.7.0> accepting AMQP connection <0.7.0> (a:1 -> b:2)", true,
			"2022-03-01T08:00:00.123456Z", "info", "<0.7.0>", "accepting AMQP connection <0.7.0> (a:1 -> b:2)", LayoutText},
		{"2021-03-04 10:11:12.345 [warning] <0.1234.0> closing AMQP connection <0.1234.0> (x):", true,
			"2021-03-04T10:11:12.345Z", "warning", "<0.1234.0>", "closing AMQP connection <0.1234.0> (x):", LayoutLager},
		{"2026-12-02 19:54:30.759031+00:00 [info] <0.223.0> ", true,
			"2026-12-02T19:54:30.759031Z", "info", "<0.223.0>", "", LayoutText},
		{"2026-12-02 19:54:30Z [notice] no pid here\r", true,
			"2026-12-02T19:54:30Z", "notice", "", "no pid here", LayoutText},
		{`{"time":"2026-12-02T19:56:48.206257752Z","level":"info","msg":"accepting AMQP connection <0.1.0> (p:1 -> l:2)","conn":"<0.1.0>","peer":"p:1"}`, true,
			"2026-12-02T19:56:48.206257752Z", "info", "<0.1.0>", "accepting AMQP connection <0.1.0> (p:1 -> l:2)", LayoutJSON},
		{`{"time":"2024-10-04 03:38:35.600956-04:00","level":"info","msg":"accepting AMQP connection 127.0.0.1:57604 -> 127.0.0.1:5672","pid":"<0.899.0>"}`, true,
			"2024-10-04T07:38:35.600956Z", "info", "<0.899.0>", "accepting AMQP connection 127.0.0.1:57604 -> 127.0.0.1:5672", LayoutJSON},
		{"missed heartbeats from client, timeout: 60s", false, "", "", "", "", 0},
		{"2026-13-02 19:56:27.484004+00:00 [error] <0.718.0> bad month", false, "", "", "", "", 0},
		{"2026-12-02 19:56:27.484004+00:00 [ERROR] <0.718.0> upper-case level", false, "", "", "", "", 0},
		{"2026-12-02 19:56:27.484004+00:00 error <0.718.0> no brackets", false, "", "", "", "", 0},
		{"2026-12-02 19:56:27.", false, "", "", "", "", 0},
		{`{"time":"yesterday","level":"info","msg":"x"}`, false, "", "", "", "", 0},
		{`{"time":"2026-12-02T19:56:48Z","level":"info"}`, false, "", "", "", "", 0},
		{`{"time":`, false, "", "", "", "", 0},
		{"\x00\x01\x02\xff\xfe", false, "", "", "", "", 0},
	}
	for _, c := range cases {
		l, ok := ParseLine(c.in)
		if ok != c.ok {
			t.Errorf("ParseLine(%q) ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if !l.Time.Equal(utc(c.time)) || l.Level != c.level || l.PID != c.pid || l.Msg != c.msg || l.Layout != c.layout {
			t.Errorf("ParseLine(%q) = %v %q %q %q %v, want %s %q %q %q %v", c.in,
				l.Time.Format(time.RFC3339Nano), l.Level, l.PID, l.Msg, l.Layout, c.time, c.level, c.pid, c.msg, c.layout)
		}
	}
}

func TestPeerHost(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000": "127.0.0.1",
		"[::1]:5000":     "::1",
		"::1:5000":       "::1",
		"10.1.4.4":       "10.1.4.4",
		"host:abc":       "host:abc",
		"":               "",
	} {
		if got := PeerHost(in); got != want {
			t.Errorf("PeerHost(%q) = %q, want %q", in, got, want)
		}
	}
}
