// Package logfmt renders beatmq's log records the way RabbitMQ 3.10 writes its
// log file, so grep patterns, alert rules and log shippers built for RabbitMQ
// work unchanged:
//
//	2026-11-24 04:44:22.153470+00:00 [error] <0.30582.52> closing AMQP connection <0.30582.52> (127.0.0.1:46404 -> 127.0.0.1:5672 - myapp):
//	2026-11-24 04:44:22.153470+00:00 [error] <0.30582.52> missed heartbeats from client, timeout: 2s
//
// A message of several lines becomes several physical lines that repeat the
// timestamp, level and id. The id is the value of the [KeyConn] attribute
// (beatmq's connection id); records without one use the server's id.
//
// [New] also builds the JSON variant (slog's JSONHandler) in which the message is
// one line and the structured fields (conn, peer, local, name, vhost, user,
// timeout_s, reason) travel as attributes.
package logfmt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// LevelNotice is RabbitMQ's notice level, between info and warning.
const LevelNotice = slog.Level(2)

// Attribute keys beatmq puts on its records. The text layout prints only
// KeyConn (as the id); JSON carries them all.
const (
	KeyConn     = "conn"      // connection id, e.g. "<0.42.0>"
	KeyPeer     = "peer"      // client address
	KeyLocal    = "local"     // broker address
	KeyName     = "name"      // client-provided connection name
	KeyVHost    = "vhost"     // virtual host
	KeyUser     = "user"      // authenticated user
	KeyTimeout  = "timeout_s" // heartbeat timeout in seconds
	KeyReason   = "reason"    // typed close reason
	KeyChannel  = "channel"   // channel number
	KeyListener = "listener"  // listening address
)

// ServerID is the id printed on lines that concern no connection.
const ServerID = "<0.0.0>"

// TimeLayout is RabbitMQ's timestamp layout: microseconds and the UTC offset.
const TimeLayout = "2006-01-02 15:04:05.000000-07:00"

// LevelName returns RabbitMQ's name for a level: debug, info, notice, warning
// or error.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < LevelNotice:
		return "info"
	case l < slog.LevelWarn:
		return "notice"
	case l < slog.LevelError:
		return "warning"
	default:
		return "error"
	}
}

// ParseLevel accepts RabbitMQ's level names (debug, info, notice, warning,
// error) and slog's (warn), in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "notice":
		return LevelNotice, nil
	case "warning", "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, notice, warning or error)", s)
}

// Options configure a handler.
type Options struct {
	// Level is the minimum level written; nil means info.
	Level slog.Leveler
	// Now replaces time.Now for the timestamp of records that carry none (tests).
	Now func() time.Time
}

// TextHandler is a slog.Handler writing RabbitMQ's text layout. It is safe
// for concurrent use; each record is written with a single Write call.
type TextHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	now   func() time.Time
	id    string // from WithAttrs(KeyConn)
	group bool   // inside WithGroup: attributes no longer name the id
}

// NewTextHandler returns a handler writing to w.
func NewTextHandler(w io.Writer, opts *Options) *TextHandler {
	h := &TextHandler{mu: new(sync.Mutex), w: w, level: slog.LevelInfo, now: time.Now}
	if opts != nil {
		if opts.Level != nil {
			h.level = opts.Level
		}
		if opts.Now != nil {
			h.now = opts.Now
		}
	}
	return h
}

// Enabled reports whether records at level l are written.
func (h *TextHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// WithAttrs returns a handler whose records carry attrs; a KeyConn attribute
// becomes the id printed on every line.
func (h *TextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	if !h.group {
		for _, a := range attrs {
			if a.Key == KeyConn {
				h2.id = a.Value.Resolve().String()
			}
		}
	}
	return &h2
}

// WithGroup returns a handler that nests later attributes in a group; the
// text layout prints no attributes, so only the id lookup is affected.
func (h *TextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = true
	return &h2
}

// Handle writes r, one physical line per line of its message.
func (h *TextHandler) Handle(_ context.Context, r slog.Record) error {
	id := h.id
	if !h.group {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == KeyConn {
				id = a.Value.Resolve().String()
				return false
			}
			return true
		})
	}
	if id == "" {
		id = ServerID
	}
	t := r.Time
	if t.IsZero() {
		t = h.now()
	}
	var stamp [64]byte
	prefix := t.AppendFormat(stamp[:0], TimeLayout)
	prefix = append(prefix, " ["...)
	prefix = append(prefix, LevelName(r.Level)...)
	prefix = append(prefix, "] "...)
	prefix = append(prefix, id...)
	prefix = append(prefix, ' ')

	msg := strings.TrimRight(r.Message, "\n")
	buf := make([]byte, 0, (len(prefix)+1)*(strings.Count(msg, "\n")+1)+len(msg))
	for {
		line, rest, more := strings.Cut(msg, "\n")
		buf = append(buf, prefix...)
		buf = append(buf, line...)
		buf = append(buf, '\n')
		if !more {
			break
		}
		msg = rest
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf)
	return err
}

// oneLine is a JSON-side wrapper joining multi-line messages into one line.
type oneLine struct{ slog.Handler }

func (o oneLine) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "\n") {
		r2 := slog.NewRecord(r.Time, r.Level, strings.ReplaceAll(strings.TrimRight(r.Message, "\n"), "\n", " "), r.PC)
		r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(a); return true })
		r = r2
	}
	return o.Handler.Handle(ctx, r)
}

func (o oneLine) WithAttrs(attrs []slog.Attr) slog.Handler {
	return oneLine{o.Handler.WithAttrs(attrs)}
}

func (o oneLine) WithGroup(name string) slog.Handler { return oneLine{o.Handler.WithGroup(name)} }

// NewJSONHandler returns slog's JSON handler with RabbitMQ's level names and
// the message joined into one line.
func NewJSONHandler(w io.Writer, opts *Options) slog.Handler {
	level := slog.Leveler(slog.LevelInfo)
	if opts != nil && opts.Level != nil {
		level = opts.Level
	}
	return oneLine{slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok {
					a.Value = slog.StringValue(LevelName(l))
				}
			}
			return a
		},
	})}
}

// New returns a logger writing format ("text" or "json") to w at level.
func New(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &Options{Level: level}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("unknown log format %q (want text or json)", format)
}
