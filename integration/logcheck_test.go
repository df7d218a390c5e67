//go:build integration

package integration

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The broker's text log, checked against RabbitMQ 3.10.8's formats
// (../shared/docs/rabbitmq-observed.md §2 and §5, logging.md). The same regexes
// run against RabbitMQ's own log in `make interop-rabbitmq`: that run is the proof
// that they describe RabbitMQ's format, not just beatmq's.
var (
	// reLine is the layout of every line: timestamp with microseconds and UTC
	// offset, [level], the id of the logging process / connection, the message.
	reLine = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}) \[(debug|info|notice|warning|error|critical)\] (\S+) (.*)$`)

	// A connection's name: "peer -> local", then "peer -> local - NAME" once the
	// client named itself.
	connName = `(\S+:\d+ -> \S+:\d+)(?: - (.+?))?`

	reAccepting  = regexp.MustCompile(`^accepting AMQP connection (\S+) \((\S+:\d+ -> \S+:\d+)\)$`)
	reClientName = regexp.MustCompile(`^connection (\S+) \((\S+:\d+ -> \S+:\d+)\) has a client-provided name: (.+)$`)
	reAuth       = regexp.MustCompile(`^connection (\S+) \(` + connName + `\): user '([^']*)' authenticated and granted access to vhost '([^']*)'$`)
	reCleanClose = regexp.MustCompile(`^closing AMQP connection (\S+) \(` + connName + `, vhost: '([^']*)', user: '([^']*)'\)$`)
	// reClosingHead is the first line of a two-line close message.
	reClosingHead = regexp.MustCompile(`^closing AMQP connection (\S+) \(` + connName + `(?:, vhost: '([^']*)', user: '([^']*)')?\):$`)
	reMissed      = regexp.MustCompile(`^missed heartbeats from client, timeout: (\d+)s$`)
	reUnexpected  = regexp.MustCompile(`^client unexpectedly closed TCP connection$`)
	// reTLSAlert is how RabbitMQ 3.10.8 logs a TLS connection whose client
	// sent a user_canceled alert as it closed (the JDK does, so the Java
	// client's every close over TLS 1.3 reads so there); see javaTLSClose.
	reTLSAlert = regexp.MustCompile(`^\{inet_error,\{tls_alert,\{user_canceled,`)
)

// logLine is one parsed line of the broker's log.
type logLine struct {
	N                  int // line number, from 1
	TS, Level, ID, Msg string
	Text               string
}

// readLog parses the log; lines that do not match reLine are returned apart.
func readLog(path string) (lines []logLine, bad []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		m := reLine.FindStringSubmatch(text)
		if m == nil {
			bad = append(bad, fmt.Sprintf("line %d: %q", n, text))
			continue
		}
		lines = append(lines, logLine{N: n, TS: m[1], Level: m[2], ID: m[3], Msg: m[4], Text: text})
	}
	return lines, bad, sc.Err()
}

// connKey finds one connection in the log: by its client-provided name, or (for
// clients that send none) by the broker-side peer port.
type connKey struct {
	Name     string
	PeerPort int
	TLS      bool // the connection came to the broker's amqps port
}

func (k connKey) String() string {
	if k.Name != "" {
		return k.Name
	}
	return "peer port " + strconv.Itoa(k.PeerPort)
}

// Log events a scenario expects for its connection.
const (
	evAccepting  = "accepting"
	evClientName = "client-provided name"
	evAuth       = "authenticated"
	evCleanClose = "clean close"
	evMissed     = "missed heartbeats"
	evUnexpected = "unexpectedly closed"
	evTLSAlert   = "closed by a TLS alert"
)

// connLog is what the log says about one connection.
type connLog struct {
	ID, Addr string
	Events   map[string]logLine // event → its (first) line
	Missed   int                // the timeout in the missed-heartbeats line
	Lines    []logLine
}

// findConn collects the lines of the connection k, checking each known message
// against its format as it goes. It returns an error for a line that belongs to
// the connection but breaks a format rule.
func findConn(lines []logLine, k connKey, brokerPort int) (*connLog, error) {
	c := &connLog{Events: map[string]logLine{}}
	peerPrefix := ""
	if k.PeerPort != 0 {
		peerPrefix = "127.0.0.1:" + strconv.Itoa(k.PeerPort) + " -> "
	}
	// Find the connection's id.
	for _, l := range lines {
		if k.Name != "" {
			if m := reClientName.FindStringSubmatch(l.Msg); m != nil && m[3] == k.Name {
				c.ID, c.Addr = m[1], m[2]
				break
			}
		} else if m := reAccepting.FindStringSubmatch(l.Msg); m != nil && strings.HasPrefix(m[2], peerPrefix) {
			c.ID, c.Addr = m[1], m[2]
			break
		}
	}
	if c.ID == "" {
		return nil, fmt.Errorf("no log line names connection %s", k)
	}
	if want := " -> 127.0.0.1:" + strconv.Itoa(brokerPort); !strings.HasSuffix(c.Addr, want) {
		return nil, fmt.Errorf("connection %s: address %q does not end in %q", k, c.Addr, want)
	}
	for i, l := range lines {
		if l.ID != c.ID {
			continue
		}
		c.Lines = append(c.Lines, l)
		first := func(ev string) {
			if _, ok := c.Events[ev]; !ok {
				c.Events[ev] = l
			}
		}
		// msgIDs checks the pid/id, address and name a message carries; name is
		// nil for messages written before the client named itself.
		msgIDs := func(id, addr string, name *string) error {
			if id != c.ID {
				return fmt.Errorf("line %d: message names connection %s, line prefix %s: %s", l.N, id, c.ID, l.Text)
			}
			if addr != c.Addr {
				return fmt.Errorf("line %d: address %q, want %q: %s", l.N, addr, c.Addr, l.Text)
			}
			if name != nil && *name != k.Name {
				return fmt.Errorf("line %d: connection name %q, want %q: %s", l.N, *name, k.Name, l.Text)
			}
			return nil
		}
		switch {
		case reAccepting.MatchString(l.Msg):
			m := reAccepting.FindStringSubmatch(l.Msg)
			if err := msgIDs(m[1], m[2], nil); err != nil {
				return nil, err
			}
			if l.Level != "info" {
				return nil, fmt.Errorf("line %d: accepting logged at %s, want info", l.N, l.Level)
			}
			first(evAccepting)
		case reClientName.MatchString(l.Msg):
			if l.Level != "info" {
				return nil, fmt.Errorf("line %d: client-provided name logged at %s, want info", l.N, l.Level)
			}
			first(evClientName)
		case reAuth.MatchString(l.Msg):
			m := reAuth.FindStringSubmatch(l.Msg)
			if err := msgIDs(m[1], m[2], &m[3]); err != nil {
				return nil, err
			}
			if l.Level != "info" || m[4] != "guest" || m[5] != "/" {
				return nil, fmt.Errorf("line %d: want info, user 'guest', vhost '/': %s", l.N, l.Text)
			}
			first(evAuth)
		case reCleanClose.MatchString(l.Msg):
			m := reCleanClose.FindStringSubmatch(l.Msg)
			if err := msgIDs(m[1], m[2], &m[3]); err != nil {
				return nil, err
			}
			if l.Level != "info" || m[4] != "/" || m[5] != "guest" {
				return nil, fmt.Errorf("line %d: want info, vhost '/', user 'guest': %s", l.N, l.Text)
			}
			first(evCleanClose)
		case reClosingHead.MatchString(l.Msg):
			m := reClosingHead.FindStringSubmatch(l.Msg)
			if err := msgIDs(m[1], m[2], &m[3]); err != nil {
				return nil, err
			}
			// The second line repeats timestamp, level and id.
			var next *logLine
			for j := i + 1; j < len(lines); j++ {
				if lines[j].ID == c.ID {
					next = &lines[j]
					break
				}
			}
			if next == nil {
				return nil, fmt.Errorf("line %d: closing line without its second line (yet): %s", l.N, l.Text)
			}
			if next.TS != l.TS || next.Level != l.Level {
				return nil, fmt.Errorf("line %d: second line %d has another timestamp or level: %q / %q", l.N, next.N, l.Text, next.Text)
			}
			switch {
			case reMissed.MatchString(next.Msg):
				if l.Level != "error" {
					return nil, fmt.Errorf("line %d: missed heartbeats logged at %s, want error", l.N, l.Level)
				}
				c.Missed, _ = strconv.Atoi(reMissed.FindStringSubmatch(next.Msg)[1])
				first(evMissed)
			case reUnexpected.MatchString(next.Msg):
				if l.Level != "warning" {
					return nil, fmt.Errorf("line %d: unexpected close logged at %s, want warning", l.N, l.Level)
				}
				if k.Name != "" && (m[4] != "/" || m[5] != "guest") {
					return nil, fmt.Errorf("line %d: unexpected close after open without vhost/user: %s", l.N, l.Text)
				}
				first(evUnexpected)
			case reTLSAlert.MatchString(next.Msg):
				if l.Level != "error" {
					return nil, fmt.Errorf("line %d: TLS alert close logged at %s, want error", l.N, l.Level)
				}
				first(evTLSAlert)
			}
		}
	}
	return c, nil
}

// waitConnLog polls the log until the connection's lines include every event in
// want (and none in forbid), or the timeout passes. RabbitMQ writes its log
// asynchronously, so a line may appear a little after the event.
func waitConnLog(tgt target, k connKey, want, forbid []string, timeout time.Duration) (*connLog, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := checkConnLog(tgt, k, want, forbid)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkConnLog(tgt target, k connKey, want, forbid []string) (*connLog, error) {
	lines, _, err := readLog(tgt.LogPath())
	if err != nil {
		return nil, err
	}
	port := tgt.Port()
	if k.TLS {
		port = tgt.TLSPort()
	}
	c, err := findConn(lines, k, port)
	if err != nil {
		return nil, err
	}
	for _, ev := range forbid {
		if l, ok := c.Events[ev]; ok {
			return c, fmt.Errorf("connection %s: unexpected %q line: %s", k, ev, l.Text)
		}
	}
	var missing []string
	for _, ev := range want {
		if _, ok := c.Events[ev]; !ok {
			missing = append(missing, ev)
		}
	}
	if len(missing) > 0 {
		var sb strings.Builder
		for _, l := range c.Lines {
			sb.WriteString("\n  " + l.Text)
		}
		return c, fmt.Errorf("connection %s: no %s line in the broker log; its lines:%s", k, strings.Join(missing, ", "), sb.String())
	}
	// Order: accepting comes first, a close comes last.
	if a, ok := c.Events[evAccepting]; ok && len(c.Lines) > 0 && c.Lines[0].N != a.N {
		return c, fmt.Errorf("connection %s: first line is not the accepting line: %s", k, c.Lines[0].Text)
	}
	return c, nil
}

// eventSummary names the events found, in a fixed order, for the results table.
func eventSummary(c *connLog) string {
	if c == nil {
		return "-"
	}
	short := map[string]string{evAccepting: "accept", evClientName: "name", evAuth: "auth",
		evCleanClose: "close", evUnexpected: "unexpected-close", evMissed: "missed-hb", evTLSAlert: "tls-alert-error"}
	var out []string
	for _, ev := range []string{evAccepting, evClientName, evAuth, evCleanClose, evUnexpected, evTLSAlert, evMissed} {
		if _, ok := c.Events[ev]; ok {
			s := short[ev]
			if ev == evMissed {
				s = fmt.Sprintf("%s %ds", s, c.Missed)
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// javaTLSClose tells whether the target logs client's close over transport
// tr as a TLS alert error instead of a clean or unexpected close. RabbitMQ
// 3.10.8 does for the Java client over TLS: the JDK sends a user_canceled
// alert when it closes a TLS 1.3 socket, Erlang's ssl treats it as fatal,
// and the reader logs `closing AMQP connection … {inet_error,{tls_alert,
// {user_canceled,…}}}` at error level, even after a clean connection.close.
// beatmq logs what the client did (README, differences from RabbitMQ).
func javaTLSClose(b target, tr transport, client string) bool {
	return b.Kind() == "rabbitmq" && tr.tls && client == "java"
}
