package logfmt

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var stamp = time.Date(2026, 11, 24, 4, 44, 22, 153470000, time.UTC)

func TestTextLayout(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewTextHandler(&buf, &Options{Level: slog.LevelDebug}))
	conn := log.With(KeyConn, "<0.30582.52>", KeyPeer, "127.0.0.1:46404")
	r := slog.NewRecord(stamp, slog.LevelError, "closing AMQP connection <0.30582.52> (127.0.0.1:46404 -> 127.0.0.1:5672 - myapp):\nmissed heartbeats from client, timeout: 2s", 0)
	if err := conn.Handler().Handle(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	want := "2026-11-24 04:44:22.153470+00:00 [error] <0.30582.52> closing AMQP connection <0.30582.52> (127.0.0.1:46404 -> 127.0.0.1:5672 - myapp):\n" +
		"2026-11-24 04:44:22.153470+00:00 [error] <0.30582.52> missed heartbeats from client, timeout: 2s\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestTextLevelsAndIDs(t *testing.T) {
	var buf bytes.Buffer
	h := NewTextHandler(&buf, &Options{Level: slog.LevelDebug, Now: func() time.Time { return stamp }})
	log := slog.New(h)
	log.Debug("d")
	log.Info("i", KeyConn, "<0.1.0>")
	log.Log(t.Context(), LevelNotice, "n")
	log.Warn("w")
	log.Error("e")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"[debug] <0.0.0> d", "[info] <0.1.0> i", "[notice] <0.0.0> n", "[warning] <0.0.0> w", "[error] <0.0.0> e"}
	if len(lines) != len(want) {
		t.Fatalf("lines %q", lines)
	}
	for i, l := range lines {
		if !strings.HasSuffix(l, want[i]) || !strings.HasPrefix(l, "2026-") {
			t.Errorf("line %d = %q, want suffix %q", i, l, want[i])
		}
	}
}

func TestTextLevelFilter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewTextHandler(&buf, nil))
	log.Debug("hidden")
	log.Info("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Fatalf("%q", buf.String())
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "json", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	log.With(KeyConn, "<0.7.0>").Warn("closing AMQP connection <0.7.0> (a -> b):\nclient unexpectedly closed TCP connection",
		KeyReason, "client_unexpectedly_closed", KeyTimeout, 2)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if rec["level"] != "warning" || rec["conn"] != "<0.7.0>" || rec["reason"] != "client_unexpectedly_closed" || rec["timeout_s"] != 2.0 ||
		rec["msg"] != "closing AMQP connection <0.7.0> (a -> b): client unexpectedly closed TCP connection" {
		t.Fatalf("record %v", rec)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "notice": LevelNotice,
		"warning": slog.LevelWarn, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("loud accepted")
	}
	if _, err := New(&bytes.Buffer{}, "xml", nil); err == nil {
		t.Error("xml accepted")
	}
}
