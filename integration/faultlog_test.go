//go:build integration

package integration

import (
	"fmt"
	"strings"
	"time"
)

// logTimeLayout is the timestamp of the broker's text log lines.
const logTimeLayout = "2006-01-02 15:04:05.000000-07:00"

// faultLog is what the broker's log says about a connection a fault was
// injected into.
type faultLog struct {
	Injected time.Time // the "fault injected" line
	Warned   time.Time // the first late-heartbeat warning after it, zero if none
	Closed   time.Time // the connection's close line, zero if none yet
	Reason   string    // why, in the words of the close line
	Lines    []string  // the connection's lines from the fault on
}

// readFaultLog reads the lines of connection k: when its (first) fault was
// injected and how it ended.
func readFaultLog(b target, k connKey) (faultLog, error) {
	var fl faultLog
	lines, _, err := readLog(b.LogPath())
	if err != nil {
		return fl, err
	}
	c, err := findConn(lines, k, b.Port())
	if err != nil {
		return fl, err
	}
	for i, l := range c.Lines {
		if fl.Injected.IsZero() {
			if !strings.HasPrefix(l.Msg, "fault injected on connection ") {
				continue
			}
			if fl.Injected, err = time.Parse(logTimeLayout, l.TS); err != nil {
				return fl, fmt.Errorf("line %d: %v", l.N, err)
			}
		}
		fl.Lines = append(fl.Lines, l.Text)
		if fl.Warned.IsZero() && strings.Contains(l.Msg, ": late heartbeats from client,") {
			if fl.Warned, err = time.Parse(logTimeLayout, l.TS); err != nil {
				return fl, fmt.Errorf("line %d: %v", l.N, err)
			}
		}
		if !fl.Closed.IsZero() {
			continue
		}
		reason, ok := closeReason(l, c.Lines[i+1:])
		if !ok {
			continue
		}
		if fl.Closed, err = time.Parse(logTimeLayout, l.TS); err != nil {
			return fl, fmt.Errorf("line %d: %v", l.N, err)
		}
		fl.Reason = reason
	}
	if fl.Injected.IsZero() {
		return fl, fmt.Errorf("connection %s: no \"fault injected\" line in the broker log", k)
	}
	return fl, nil
}

// closeReason reports whether l is the connection's close line and, if so,
// why it closed: the second line of a two-line close ("missed heartbeats
// from client, timeout: 2s", "client unexpectedly closed TCP connection"),
// or "closed" for the one-line close RabbitMQ writes after a close handshake
// (beatmq writes it for a reset fault too). rest are the connection's lines
// after l.
func closeReason(l logLine, rest []logLine) (string, bool) {
	if reCleanClose.MatchString(l.Msg) || strings.HasPrefix(l.Msg, "closing AMQP connection ") && !strings.HasSuffix(l.Msg, ":") {
		return "closed", true
	}
	if !reClosingHead.MatchString(l.Msg) {
		return "", false
	}
	if len(rest) == 0 {
		return "", false // its second line is not written yet
	}
	return rest[0].Msg, true
}
