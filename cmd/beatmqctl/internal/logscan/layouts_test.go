package logscan

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// rewrite turns the checked-in RabbitMQ 3.10.8 log into another layout line
// by line, so the same events can be read in each.
func rewrite(t *testing.T, conv func(prev *Line, l Line, raw string) string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "rabbitmq-3.10.8.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var prev *Line
	for _, raw := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		l, ok := ParseLine(raw)
		if !ok {
			t.Fatalf("unreadable line in the test data: %q", raw)
		}
		out.WriteString(conv(prev, l, raw) + "\n")
		prev = &l
	}
	return out.String()
}

// TestOtherRabbitMQLayouts reads the RabbitMQ 3.10.8 log rewritten in
// RabbitMQ 3.8's lager layout (milliseconds, no zone, continuation lines
// bare), in the 3.9+ layout with a 'T' and "Z", and with the messages as
// 3.13 words them (no pid after "AMQP connection", no parentheses when
// accepting): the counts are the same.
func TestOtherRabbitMQLayouts(t *testing.T) {
	want := asJSON(countsOf(summarize(t, Options{}, "rabbitmq-3.10.8.log")))
	continues := func(prev *Line, l Line) bool {
		return prev != nil && prev.PID == l.PID && prev.Time.Equal(l.Time) && strings.HasSuffix(prev.Msg, ":")
	}
	pid := regexp.MustCompile(`AMQP connection <[^>]*> `)
	accepting := regexp.MustCompile(`^accepting AMQP connection \((.*)\)$`)
	named := regexp.MustCompile(`^connection <[^>]*> \((.*)\) has a client-provided name`)
	layouts := map[string]func(prev *Line, l Line, raw string) string{
		"3.8 lager": func(prev *Line, l Line, raw string) string {
			if continues(prev, l) {
				return l.Msg
			}
			return l.Time.Format("2006-01-02 15:04:05.000") + " [" + l.Level + "] " + l.PID + " " + l.Msg
		},
		"3.9+ rfc3339_T": func(prev *Line, l Line, raw string) string {
			return l.Time.Format("2006-01-02T15:04:05.000000Z") + " [" + l.Level + "] " + l.PID + " " + l.Msg
		},
		"3.13 wording": func(prev *Line, l Line, raw string) string {
			m := pid.ReplaceAllString(l.Msg, "AMQP connection ")
			m = accepting.ReplaceAllString(m, "accepting AMQP connection $1")
			m = named.ReplaceAllString(m, "connection $1 has a client-provided name")
			return raw[:strings.Index(raw, "] ")+2] + l.PID + " " + m
		},
	}
	for name, conv := range layouts {
		t.Run(name, func(t *testing.T) {
			log := rewrite(t, conv)
			var s Summarizer
			fs := s.Read(name, strings.NewReader(log))
			if fs.Unreadable != 0 {
				t.Fatalf("%d unreadable lines", fs.Unreadable)
			}
			if got := asJSON(countsOf(s.Summary(Options{}))); got != want {
				t.Fatalf("summary:\n%s\nwant\n%s\nlog starts:\n%s", got, want, log[len(log)-3000:])
			}
		})
	}
}
