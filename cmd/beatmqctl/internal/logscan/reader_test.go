package logscan

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// readAll reads s and returns the entries' texts (in emission order) and the
// stats.
func readAll(t *testing.T, src io.Reader) ([]*Entry, Stats, error) {
	t.Helper()
	var got []*Entry
	r := NewReader(func(e *Entry) { got = append(got, e) })
	_, err := r.ReadFrom(src)
	return got, r.Stats(), err
}

func texts(es []*Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.PID + " " + e.Text()
	}
	return out
}

func TestReaderJoinsRabbitMQ310MultiLine(t *testing.T) {
	log := `2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> closing AMQP connection <0.718.0> (127.0.0.4:41145 -> 127.0.0.1:36641 - logscen-hb1):
2026-12-02 19:56:27.484004+00:00 [error] <0.718.0> missed heartbeats from client, timeout: 1s
2026-12-02 19:56:27.500000+00:00 [info] <0.9.0> something else
`
	es, st, err := readAll(t, strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<0.718.0> closing AMQP connection <0.718.0> (127.0.0.4:41145 -> 127.0.0.1:36641 - logscen-hb1):\nmissed heartbeats from client, timeout: 1s",
		"<0.9.0> something else",
	}
	if got := texts(es); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("entries:\n%q\nwant\n%q", got, want)
	}
	if st.Lines != 3 || st.Entries != 2 || st.Unreadable != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReaderJoinsLagerContinuations(t *testing.T) {
	// RabbitMQ 3.8 (lager) writes a message's further lines bare.
	log := "2021-03-04 10:11:12.345 [error] <0.1234.0> closing AMQP connection <0.1234.0> (10.0.0.5:50000 -> 10.0.0.1:5672):\n" +
		"missed heartbeats from client, timeout: 60s\n" +
		"2021-03-04 10:11:13.000 [info] <0.1.0> next\n"
	es, st, err := readAll(t, strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Text() != "closing AMQP connection <0.1234.0> (10.0.0.5:50000 -> 10.0.0.1:5672):\nmissed heartbeats from client, timeout: 60s" {
		t.Fatalf("entries %q", texts(es))
	}
	if st.Unreadable != 0 || st.Layouts["lager"] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReaderInterleavedMultiLine(t *testing.T) {
	// Two connections closing at once, their lines interleaved (two logs
	// merged line by line): each second line finds its first by pid,
	// timestamp and level.
	log := `2026-12-02 19:56:27.1+00:00 [error] <0.1.0> closing AMQP connection <0.1.0> (a:1 -> b:2):
2026-12-02 19:56:27.2+00:00 [warning] <0.2.0> closing AMQP connection <0.2.0> (c:3 -> b:2 - n):
2026-12-02 19:56:27.3+00:00 [info] <0.3.0> unrelated
2026-12-02 19:56:27.2+00:00 [warning] <0.2.0> client unexpectedly closed TCP connection
2026-12-02 19:56:27.1+00:00 [error] <0.1.0> missed heartbeats from client, timeout: 5s
`
	es, st, err := readAll(t, strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(texts(es), "|")
	for _, want := range []string{
		"<0.1.0> closing AMQP connection <0.1.0> (a:1 -> b:2):\nmissed heartbeats from client, timeout: 5s",
		"<0.2.0> closing AMQP connection <0.2.0> (c:3 -> b:2 - n):\nclient unexpectedly closed TCP connection",
		"<0.3.0> unrelated",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}
	if len(es) != 3 || st.Unreadable != 0 || st.Entries != 3 {
		t.Fatalf("%d entries, stats %+v", len(es), st)
	}
}

func TestReaderUnreadable(t *testing.T) {
	cases := []struct {
		name            string
		in              string
		entries, unread int
	}{
		{"unknown format", "GET / HTTP/1.1 200\nnginx line two\n\n", 0, 2},
		{"binary", "\x00\x01\x02\x03\n\xff\xfe\xfd\n", 0, 2},
		{"binary after a text entry", "2026-12-02 19:56:27.1+00:00 [info] <0.1.0> ok\n\x00\x01garbage\n", 1, 1},
		{"bare line in a 3.9+ log", "2026-12-02 19:56:27.1+00:00 [info] <0.1.0> ok\nbare text\n", 1, 1},
		{"bare line in a JSON log", `{"time":"2026-12-02T19:56:48Z","level":"info","msg":"x"}` + "\nbare\n", 1, 1},
		{"truncated last line", "2026-12-02 19:56:27.1+00:00 [info] <0.1.0> ok\n2026-12-02 19:5", 1, 1},
		{"truncated JSON", `{"time":"2026-12-02T19:56:48Z","level":"info","msg":"x"}` + "\n" + `{"time":"2026-12-02T19:5`, 1, 1},
		{"no newline at all", "2026-12-02 19:56:27.1+00:00 [info] <0.1.0> ok", 1, 0},
		{"empty", "", 0, 0},
		{"CRLF", "2026-12-02 19:56:27.1+00:00 [info] <0.1.0> ok\r\n2026-12-02 19:56:27.2+00:00 [info] <0.1.0> ok\r\n", 2, 0},
		{"too long after an entry", "2026-12-02 19:56:27.0+00:00 [info] <0.1.0> before\n" + strings.Repeat("y", MaxLineBytes+10) + "\n2026-12-02 19:56:27.2+00:00 [info] <0.1.0> after\n", 2, 1},
		{"too long", "2026-12-02 19:56:27.1+00:00 [info] <0.1.0> " + strings.Repeat("x", MaxLineBytes+10) + "\n2026-12-02 19:56:27.2+00:00 [info] <0.1.0> ok\n", 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es, st, err := readAll(t, strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != c.entries || st.Entries != c.entries || st.Unreadable != c.unread {
				t.Fatalf("%d entries emitted, stats %+v; want %d entries, %d unreadable", len(es), st, c.entries, c.unread)
			}
		})
	}
}

func TestReaderGzip(t *testing.T) {
	log := "2026-12-02 19:56:27.1+00:00 [info] <0.1.0> one\n2026-12-02 19:56:27.2+00:00 [info] <0.1.0> two\n"
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(log))
	zw.Close()

	es, st, err := readAll(t, bytes.NewReader(z.Bytes()))
	if err != nil || len(es) != 2 || !st.Gzip {
		t.Fatalf("gzip: %d entries, %+v, %v", len(es), st, err)
	}
	// Cut short: an error, and what came before is kept.
	cut := z.Bytes()[:z.Len()-12]
	es, st, err = readAll(t, bytes.NewReader(cut))
	if err == nil {
		t.Fatalf("truncated gzip: no error (%d entries)", len(es))
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("truncated gzip: %v", err)
	}
	if st.Lines > 2 {
		t.Fatalf("truncated gzip: %+v", st)
	}
	// Only the magic bytes.
	if _, _, err := readAll(t, bytes.NewReader([]byte{0x1f, 0x8b})); err == nil {
		t.Fatal("gzip magic alone: no error")
	}
}

func TestReaderRandomBytesNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, rng.IntN(4096))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(40) == 0 {
				b[i] = '\n'
			}
		}
		es, st, _ := readAll(t, bytes.NewReader(b))
		if len(es) != st.Entries {
			t.Fatalf("%d entries emitted, %d counted", len(es), st.Entries)
		}
		for _, e := range es {
			Match(e)
		}
	}
}
