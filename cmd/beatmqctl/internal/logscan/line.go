package logscan

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Layout is the layout a line was written in.
type Layout uint8

// The layouts ParseLine recognises.
const (
	LayoutText  Layout = iota + 1 // beatmq's text log, RabbitMQ 3.9+: the prefix on every line
	LayoutLager                   // RabbitMQ 3.8 (lager): no zone, continuation lines bare
	LayoutJSON                    // one JSON object per line
)

// String names the layout.
func (l Layout) String() string {
	switch l {
	case LayoutText:
		return "text"
	case LayoutLager:
		return "lager"
	case LayoutJSON:
		return "json"
	}
	return "unknown"
}

// Line is one physical log line that starts a log event (or continues one
// whose lines each repeat the prefix).
type Line struct {
	Time   time.Time
	Level  string // "info", "warning", ... as written, lower case
	PID    string // the logging process: RabbitMQ's pid, beatmq's connection id; "" if none
	Msg    string // the message, without the prefix
	Layout Layout
	// Attrs are a JSON line's other fields (peer, name, timeout_s, silence,
	// ...), scalars as text; nil for text lines.
	Attrs map[string]string
}

// maxLevelLen bounds the level word; RabbitMQ's longest is "emergency".
const maxLevelLen = 12

// ParseLine parses one line (without its newline). It reports false for a
// line that does not start with a timestamp and a level (a continuation
// line of RabbitMQ 3.8, or something that is not a log line at all).
func ParseLine(s string) (Line, bool) {
	s = strings.TrimSuffix(s, "\r")
	if strings.HasPrefix(s, "{") {
		return parseJSON(s)
	}
	t, n, ok := parseStamp(s)
	if !ok || n >= len(s) || s[n] != ' ' {
		return Line{}, false
	}
	zoned := n > 19 && (s[n-1] == 'Z' || strings.ContainsAny(s[19:n], "+-"))
	rest := s[n+1:]
	if len(rest) < 3 || rest[0] != '[' {
		return Line{}, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 2 || end > maxLevelLen+1 {
		return Line{}, false
	}
	level := rest[1:end]
	for _, c := range []byte(level) {
		if c < 'a' || c > 'z' {
			return Line{}, false
		}
	}
	rest = rest[end+1:]
	if rest != "" {
		if rest[0] != ' ' {
			return Line{}, false
		}
		rest = rest[1:]
	}
	l := Line{Time: t, Level: level, Layout: LayoutText}
	if !zoned {
		l.Layout = LayoutLager
	}
	if strings.HasPrefix(rest, "<") {
		if i := strings.IndexByte(rest, '>'); i > 0 && !strings.ContainsAny(rest[:i], " \t") {
			l.PID = rest[:i+1]
			rest = rest[i+1:]
			if rest != "" && rest[0] == ' ' {
				rest = rest[1:]
			}
		}
	}
	l.Msg = rest
	return l, true
}

// parseJSON reads one JSON object: beatmq's (time, level, msg, conn, ...)
// or RabbitMQ's JSON formatter (time, level, msg, pid, ...).
func parseJSON(s string) (Line, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return Line{}, false
	}
	msg, ok := m["msg"].(string)
	if !ok {
		return Line{}, false
	}
	ts, _ := m["time"].(string)
	t, n, ok := parseStamp(ts)
	if !ok || n != len(ts) {
		return Line{}, false
	}
	level, _ := m["level"].(string)
	l := Line{Time: t, Level: strings.ToLower(level), Msg: msg, Layout: LayoutJSON, Attrs: map[string]string{}}
	for k, v := range m {
		switch k {
		case "time", "level", "msg":
			continue
		}
		switch v := v.(type) {
		case string:
			l.Attrs[k] = v
		case float64:
			l.Attrs[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			l.Attrs[k] = strconv.FormatBool(v)
		}
	}
	l.PID = l.Attrs["conn"]
	if l.PID == "" {
		l.PID = l.Attrs["pid"]
	}
	return l, true
}

// printable reports whether s can be text: valid UTF-8 without control
// characters other than tab. A bare line that is not printable is not a
// continuation line but unreadable.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
