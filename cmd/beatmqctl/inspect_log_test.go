package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspectLogText(t *testing.T) {
	r := ctl(nil, "inspect-log", "testdata/rabbitmq-3.10.8.log")
	wantCode(t, r, exitOK)
	for _, want := range []string{
		"entries, 0 unreadable lines",
		"Connections seen: 11",
		"all  11      3      2           2 (1s×1, 2s×1)  2             2          0        0",
		"logscen-hb1      1       0      0           1 (1s×1)   0             0          0        0",
		"127.0.0.5  2       0      0           0               2             0          0        0",
		"Timeline (every 1s)",
		"1. (unnamed): 4 abnormal closes (unexpected 1, missed heartbeats 1 (2s×1), handshake timeouts 2, other 0); auth failures 1, late heartbeats 0",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestInspectLogJSONAndGlobalFlags(t *testing.T) {
	// Global flags before the command are accepted and ignored.
	r := ctl(nil, "--mgmt-url", "http://127.0.0.1:1", "-q", "inspect-log", "--json", "--since", "2026-12-02T19:56:26Z",
		"testdata/rotated/wtlogs@localhost.log", "testdata/rotated/wtlogs@localhost.log.1.gz")
	wantCode(t, r, exitOK)
	var s struct {
		Unreadable int `json:"unreadable_lines"`
		Totals     struct {
			Opened            int `json:"opened"`
			MissedHeartbeats  int `json:"missed_heartbeats"`
			HandshakeTimeouts int `json:"handshake_timeouts"`
		} `json:"totals"`
		Files []struct {
			Gzip bool `json:"gzip"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if s.Unreadable != 0 || s.Totals.Opened != 1 || s.Totals.MissedHeartbeats != 2 || s.Totals.HandshakeTimeouts != 2 || len(s.Files) != 2 || !s.Files[1].Gzip {
		t.Fatalf("summary %+v\n%s", s, r.stdout)
	}
}

func TestInspectLogStdin(t *testing.T) {
	f, err := os.Open("testdata/beatmq.json.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := stdin
	stdin = f
	defer func() { stdin = old }()
	r := ctl(nil, "inspect-log")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "(stdin): 42 lines, 0 unreadable (json)") || !strings.Contains(r.stdout, "Connections seen: 11") {
		t.Fatalf("stdin:\n%s", r.stdout)
	}
}

func TestInspectLogBadInput(t *testing.T) {
	dir := t.TempDir()
	gz, err := os.ReadFile("testdata/rotated/wtlogs@localhost.log.1.gz")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.gz")
	bin := filepath.Join(dir, "binary")
	os.WriteFile(cut, gz[:len(gz)/2], 0o644)
	os.WriteFile(bin, []byte("\x00\x01\x02\nnot a log line\n\xff\xfe\n"), 0o644)

	r := ctl(nil, "inspect-log", cut, bin)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "Warning: "+cut) {
		t.Errorf("no warning for the truncated gzip file: %q", r.stderr)
	}
	if !strings.Contains(r.stdout, bin+": 3 lines, 3 unreadable") {
		t.Errorf("binary file:\n%s", r.stdout)
	}

	wantCode(t, ctl(nil, "inspect-log", filepath.Join(dir, "missing")), exitNotFound)
	wantCode(t, ctl(nil, "inspect-log", "--since", "yesterday", bin), exitUsage)
	wantCode(t, ctl(nil, "inspect-log", "--bogus", bin), exitUsage)
	for _, args := range [][]string{{"inspect-log", "--help"}, {"--help", "inspect-log"}, {"-q", "-h", "inspect-log", bin}} {
		h := ctl(nil, args...)
		wantCode(t, h, exitOK)
		if !strings.Contains(h.stdout, "--since") || !strings.Contains(h.stdout, "Usage: beatmqctl inspect-log") {
			t.Errorf("%q:\n%s", args, h.stdout)
		}
	}
	if u := ctl(nil, "help"); !strings.Contains(u.stdout, "inspect-log") {
		t.Errorf("beatmqctl help does not list inspect-log:\n%s", u.stdout)
	}
}

func TestParseWhen(t *testing.T) {
	for in, ago := range map[string]string{"2h": "2h0m0s", "90m": "1h30m0s", "7d": "168h0m0s", "1.5d": "36h0m0s"} {
		_, d, err := parseWhen(in)
		if err != nil || d.String() != ago {
			t.Errorf("parseWhen(%q) = %v, %v; want %s", in, d, err, ago)
		}
	}
	for _, in := range []string{"2026-12-02T19:56:26Z", "2026-12-02 19:56:26", "2026-12-02T19:56:26+01:00", "2026-12-02"} {
		if at, _, err := parseWhen(in); err != nil || at.IsZero() {
			t.Errorf("parseWhen(%q) = %v, %v", in, at, err)
		}
	}
	for _, in := range []string{"-2h", "0s", "soon", "2026-13-01"} {
		if _, _, err := parseWhen(in); err == nil {
			t.Errorf("parseWhen(%q) accepted", in)
		}
	}
}
