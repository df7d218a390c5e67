package logscan

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is what an event says about a connection.
type Kind uint8

// The kinds of events. The close kinds end a connection.
const (
	KindNone             Kind = iota
	KindOpened                // accepting AMQP connection
	KindNamed                 // has a client-provided name
	KindClosedClean           // closing AMQP connection, one line: a close handshake
	KindClosedUnexpected      // client unexpectedly closed TCP connection
	KindMissedHeartbeats      // missed heartbeats from client, timeout: Ns
	KindHandshakeTimeout      // {handshake_timeout,handshake|frame_header}
	KindAuthFailure           // <mechanism> login refused
	KindLateHeartbeat         // beatmq's late-heartbeat warning
	KindClosedOther           // any other closing AMQP connection with a reason
	KindIgnored               // a close that is no client's doing (a TCP health check)
)

// String names the kind as the JSON output does.
func (k Kind) String() string {
	return [...]string{"none", "opened", "named", "closed_clean", "closed_unexpected",
		"missed_heartbeats", "handshake_timeout", "auth_failure", "late_heartbeat",
		"closed_other", "ignored"}[k]
}

// Closes reports whether the kind ends a connection.
func (k Kind) Closes() bool {
	switch k {
	case KindClosedClean, KindClosedUnexpected, KindMissedHeartbeats, KindHandshakeTimeout, KindClosedOther, KindIgnored:
		return true
	}
	return false
}

// pattern recognises one message. Literal is a substring every matching
// message contains, checked before the expression; the expression may
// name the groups desc (the connection description between the
// parentheses), name, timeout and silence.
type pattern struct {
	kind    Kind
	literal string
	re      *regexp.Regexp
}

// conn matches what follows "... AMQP connection": RabbitMQ up to 3.12 and
// beatmq print the pid, then the description in parentheses; 3.13 and later
// drop the pid, and print no parentheses when accepting.
const conn = `(?:<[^<>\s]*> )?`

// patterns is the message table, most specific first. Multi-line messages
// are matched with their lines joined by "\n" (text logs) or by a space (JSON
// logs, which write the message on one line), hence `\s+` between them.
//
// beatmq's late-heartbeat warning (issue 13, written concurrently with this
// table) is matched in two wordings: the one its branch logs, "connection
// <id> (DESC): late heartbeats from client, nothing received for 6s,
// timeout: 4s" (JSON: silence_s, timeout_s), and the one first agreed on,
// "client heartbeat late" with silence and timeout as attributes or as
// "silence: 1.5s" / "timeout: 2s" in the text.
var patterns = []pattern{
	{KindOpened, "accepting AMQP connection", regexp.MustCompile(`^accepting AMQP connection ` + conn + `\(?(?P<desc>[^()]*?)\)?\s*$`)},
	{KindNamed, "has a client-provided name", regexp.MustCompile(`^connection ` + conn + `\(?(?P<desc>.*?)\)? has a client-provided name: (?P<name>.*)$`)},
	{KindAuthFailure, "login refused", regexp.MustCompile(`(?s)^Error on AMQP connection ` + conn + `\((?P<desc>.*?)\):\s+(?:\S+ )?login refused`)},
	{KindMissedHeartbeats, "missed heartbeats from client", regexp.MustCompile(`(?s)^closing AMQP connection ` + conn + `\((?P<desc>.*)\):\s+missed heartbeats from client, timeout: (?P<timeout>[0-9.]+(?:s|ms))`)},
	{KindClosedUnexpected, "client unexpectedly closed TCP connection", regexp.MustCompile(`(?s)^closing AMQP connection ` + conn + `\((?P<desc>.*)\):\s+client unexpectedly closed TCP connection`)},
	{KindHandshakeTimeout, "handshake_timeout", regexp.MustCompile(`(?s)^closing AMQP connection ` + conn + `\((?P<desc>.*)\):\s+\{handshake_timeout,\w+\}`)},
	{KindIgnored, "connection_closed_with_no_data_received", regexp.MustCompile(`(?s)^closing AMQP connection ` + conn + `\((?P<desc>.*)\):\s+connection_closed_with_no_data_received`)},
	{KindClosedOther, "closing AMQP connection", regexp.MustCompile(`(?s)^closing AMQP connection ` + conn + `\((?P<desc>.*)\):\s+\S`)},
	{KindClosedClean, "closing AMQP connection", regexp.MustCompile(`^closing AMQP connection ` + conn + `\((?P<desc>.*)\)$`)},
	{KindLateHeartbeat, "late heartbeats from client", regexp.MustCompile(`(?s)^connection ` + conn + `\(?(?P<desc>.*?)\)?: late heartbeats from client(?:, nothing received for (?P<silence>[^,]+))?(?:, timeout: (?P<timeout>[0-9.]+(?:s|ms)))?`)},
	{KindLateHeartbeat, "client heartbeat late", regexp.MustCompile(`(?s)client heartbeat late(?:.*?silence[:=]\s*(?P<silence>[0-9.]+(?:s|ms)))?(?:.*?timeout[:=]\s*(?P<timeout>[0-9.]+(?:s|ms)))?`)},
}

// Event is what one entry says about one connection.
type Event struct {
	Time time.Time
	Kind Kind
	PID  string
	Peer string // client address "host:port", when the entry says
	Name string // client-provided name, when the entry says
	// Timeout is the heartbeat timeout of a missed-heartbeats close or a late
	// warning, as written ("60s"); Silence the silence of a late warning.
	Timeout, Silence string
	// seq orders events of the same time: the position of the entry's
	// first line among every input read.
	seq int
}

// Match returns the event an entry describes, or false for an entry that is
// about none of the kinds.
func Match(e *Entry) (Event, bool) {
	msg := e.Text()
	for _, p := range patterns {
		if !strings.Contains(msg, p.literal) {
			continue
		}
		m := p.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		ev := Event{Time: e.Time, Kind: p.kind, PID: e.PID, seq: e.Seq}
		for i, g := range p.re.SubexpNames() {
			switch g {
			case "desc":
				d := parseDesc(m[i])
				ev.Peer, ev.Name = d.peer, d.name
			case "name":
				ev.Name = m[i]
			case "timeout":
				ev.Timeout = m[i]
			case "silence":
				ev.Silence = m[i]
			}
		}
		if e.Attrs != nil {
			fromAttrs(&ev, e.Attrs)
		}
		return ev, true
	}
	return Event{}, false
}

// fromAttrs fills what a JSON line carries as fields and its message
// does not say.
func fromAttrs(ev *Event, a map[string]string) {
	if v := a["peer"]; v != "" && ev.Peer == "" {
		ev.Peer = v
	}
	if v := a["name"]; v != "" && ev.Name == "" {
		ev.Name = v
	}
	if ev.Timeout == "" {
		if v := a["timeout_s"]; v != "" {
			ev.Timeout = v + "s"
		} else if v := a["timeout"]; v != "" {
			ev.Timeout = normDuration(v)
		}
	}
	if ev.Silence == "" {
		if v := a["silence_s"]; v != "" {
			ev.Silence = normDuration(v)
		} else if v := a["silence"]; v != "" {
			ev.Silence = normDuration(v)
		}
	}
}

// normDuration writes a duration attribute as Go does ("1.5s"). slog's JSON
// handler writes a time.Duration as integer nanoseconds; a plain number up to
// 100,000 is taken as seconds; anything else is kept as written.
func normDuration(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || f < 0:
		return v
	case f <= 100_000:
		return time.Duration(f * float64(time.Second)).String()
	}
	return time.Duration(f).String()
}
