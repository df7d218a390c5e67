package logscan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
)

// Entry is one log event: its first line and the lines that continue it.
type Entry struct {
	Line
	// Body holds the continuation lines, without their prefixes.
	Body []string
	// Seq is the number of the entry's first line in its stream, from 1:
	// entries are emitted once complete, which is not always in this order.
	Seq int
}

// Text is the whole message: the first line and the continuation lines,
// joined by newlines.
func (e *Entry) Text() string {
	if len(e.Body) == 0 {
		return e.Msg
	}
	return e.Msg + "\n" + strings.Join(e.Body, "\n")
}

// Stats count what a Reader saw.
type Stats struct {
	Lines      int            `json:"lines"`      // physical lines, blank ones included
	Entries    int            `json:"entries"`    // log events
	Unreadable int            `json:"unreadable"` // lines that were neither an event nor a continuation
	Layouts    map[string]int `json:"layouts"`    // lines that start an event, by layout
	Gzip       bool           `json:"gzip"`
}

// MaxLineBytes is the longest line a Reader keeps; longer ones are counted
// as unreadable and skipped.
const MaxLineBytes = 1 << 20

// continuationWindow is how many lines after a message that ended with ':'
// a line from the same process with the same timestamp and level may still
// continue it. RabbitMQ writes the lines of one message together; the
// window lets lines of two logs merged line by line still find their
// message.
const continuationWindow = 64

// Reader reads one log stream and hands each complete entry to a callback.
type Reader struct {
	emit  func(*Entry)
	stats Stats
	line  int
	last  *Entry // the entry that bare continuation lines extend
	// open are entries whose first line ended with ':' and that lines with
	// the same pid, timestamp and level may continue (RabbitMQ 3.9+ writes
	// each line of a message with the full prefix).
	open map[string]openEntry
}

type openEntry struct {
	e    *Entry
	line int
}

// NewReader returns a Reader that calls emit with every entry, once the
// entry can no longer grow.
func NewReader(emit func(*Entry)) *Reader {
	return &Reader{emit: emit, open: map[string]openEntry{}, stats: Stats{Layouts: map[string]int{}}}
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// ReadFrom reads the whole stream, gunzipping it if it starts with gzip's
// magic bytes, and flushes the entries at its end. It returns the
// number of bytes read from src and the first read error (a truncated gzip
// stream, for one): what was read before it is kept.
func (r *Reader) ReadFrom(src io.Reader) (int64, error) {
	cr := &countingReader{r: src}
	br := bufio.NewReaderSize(cr, 64<<10)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return cr.n, err
		}
		defer zr.Close()
		r.stats.Gzip = true
		in = bufio.NewReaderSize(zr, 64<<10)
	}
	err := r.readLines(in.(*bufio.Reader))
	r.Flush()
	return cr.n, err
}

// readLines splits the stream into lines of at most MaxLineBytes.
func (r *Reader) readLines(br *bufio.Reader) error {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case tooLong:
		case len(buf)+len(chunk) > MaxLineBytes+1:
			tooLong, buf = true, buf[:0]
		default:
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(chunk) > 0 || len(buf) > 0 || tooLong {
			if tooLong {
				r.line++
				r.stats.Lines++
				r.stats.Unreadable++
				r.endLast() // nothing continues across it
			} else {
				r.Line(string(bytes.TrimSuffix(buf, []byte("\n"))))
			}
		}
		buf, tooLong = buf[:0], false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Line feeds one physical line (without its newline).
func (r *Reader) Line(s string) {
	r.line++
	r.stats.Lines++
	if len(r.open) > 0 {
		r.expire()
	}
	if strings.TrimSpace(s) == "" {
		return
	}
	l, ok := ParseLine(s)
	if !ok {
		// A bare line continues the entry before it in RabbitMQ 3.8's
		// layout, if it can be text at all; the other layouts have none.
		if r.last != nil && r.last.Layout == LayoutLager && printable(s) && len(r.last.Body) < 10000 {
			r.last.Body = append(r.last.Body, strings.TrimSuffix(s, "\r"))
			return
		}
		r.stats.Unreadable++
		return
	}
	if l.PID != "" && l.Layout == LayoutText {
		if o, ok := r.open[l.PID]; ok && o.e.Time.Equal(l.Time) && o.e.Level == l.Level && len(o.e.Body) < 10000 {
			o.e.Body = append(o.e.Body, l.Msg)
			o.line = r.line
			r.open[l.PID] = o
			return
		}
	}
	e := &Entry{Line: l, Seq: r.line}
	r.stats.Entries++
	r.stats.Layouts[l.Layout.String()]++
	// The previous entry can no longer take bare lines.
	r.endLast()
	r.last = e
	// Only the 3.9+ layout repeats the prefix on a message's further lines
	// (3.8's writes them bare, JSON on one line).
	if l.PID != "" && l.Layout == LayoutText && strings.HasSuffix(l.Msg, ":") {
		if o, ok := r.open[l.PID]; ok {
			delete(r.open, l.PID)
			r.emit(o.e)
		}
		r.open[l.PID] = openEntry{e: e, line: r.line}
	}
}

// endLast stops bare lines from continuing the last entry, and emits it
// unless it is open.
func (r *Reader) endLast() {
	if r.last != nil && !r.isOpen(r.last) {
		r.emit(r.last)
	}
	r.last = nil
}

func (r *Reader) isOpen(e *Entry) bool {
	o, ok := r.open[e.PID]
	return ok && o.e == e
}

// expire emits open entries that no line has continued for
// continuationWindow lines.
func (r *Reader) expire() {
	for pid, o := range r.open {
		if r.line-o.line > continuationWindow {
			delete(r.open, pid)
			if o.e != r.last {
				r.emit(o.e)
			}
		}
	}
}

// Flush emits every entry still held. The Reader can go on afterwards, as at
// the start of a new stream.
func (r *Reader) Flush() {
	for pid, o := range r.open {
		delete(r.open, pid)
		if o.e != r.last {
			r.emit(o.e)
		}
	}
	if r.last != nil {
		r.emit(r.last)
		r.last = nil
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
