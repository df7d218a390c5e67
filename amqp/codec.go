package amqp

import (
	"encoding/binary"
	"time"
)

// reader decodes method arguments. Errors are sticky: after the first read past
// the end (or a bad table), every read returns a zero value and bad stays set,
// so generated code can read all fields and check once.
type reader struct {
	b     []byte
	off   int
	bad   bool
	cache *stringCache // optional; see Decoder
}

// need reports whether n more octets are available, and marks r bad if not.
// n is unsigned so a declared 32-bit length can never wrap.
func (r *reader) need(n uint64) bool {
	if r.bad || n > uint64(len(r.b)-r.off) {
		r.bad = true
		return false
	}
	return true
}

func (r *reader) octet() uint8 {
	if !r.need(1) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) short() uint16 {
	if !r.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *reader) long() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) longlong() uint64 {
	if !r.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *reader) timestamp() time.Time {
	return unixTime(r.longlong())
}

// unixTime converts an AMQP timestamp (seconds since the epoch, 64 bits) to a
// UTC time; timeUnix converts back exactly, for every 64-bit value.
func unixTime(v uint64) time.Time { return time.Unix(int64(v), 0).UTC() }

func timeUnix(t time.Time) uint64 { return uint64(t.Unix()) }

func (r *reader) longstr() string {
	n := r.long()
	if n == 0 || !r.need(uint64(n)) {
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}

func (r *reader) table() Table {
	n := r.long()
	if !r.need(uint64(n)) {
		return nil
	}
	t, ok := parseTable(r.b[r.off : r.off+int(n)])
	if !ok {
		r.bad = true
		return nil
	}
	r.off += int(n)
	return t
}

// zeros is what shortstrs returns for a run of empty (or unreadable) strings.
const zeros = "\x00\x00\x00\x00\x00\x00\x00\x00"

// shortstrs reads n (at most 8) consecutive shortstr fields and returns them
// still length-prefixed, in one string, for splitShortstr to take apart: a
// basic.publish's exchange and routing key cost one allocation, and none when
// the reader has a cache that already holds the same octets.
func (r *reader) shortstrs(n int) string {
	start := r.off
	for range n {
		l := r.octet()
		if !r.need(uint64(l)) {
			return zeros[:n]
		}
		r.off += int(l)
	}
	if r.off-start == n {
		return zeros[:n]
	}
	if r.cache != nil {
		return r.cache.get(r.b[start:r.off])
	}
	return string(r.b[start:r.off])
}

// splitShortstr takes the first length-prefixed string off s, which must be
// well formed (as shortstrs returns it).
func splitShortstr(s string) (first, rest string) {
	n := int(s[0])
	return s[1 : 1+n], s[1+n:]
}

// stringCache remembers the last few strings it made, so a connection that
// publishes to the same exchange and routing key over and over reuses one string.
type stringCache struct {
	s    [8]string
	next uint8
}

func (c *stringCache) get(b []byte) string {
	for _, s := range c.s {
		if s == string(b) { // no allocation: the compiler compares in place
			return s
		}
	}
	s := string(b)
	c.s[c.next%uint8(len(c.s))] = s
	c.next++
	return s
}

func appendShort(b []byte, v uint16) []byte {
	return binary.BigEndian.AppendUint16(b, v)
}

func appendLong(b []byte, v uint32) []byte {
	return binary.BigEndian.AppendUint32(b, v)
}

func appendLonglong(b []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(b, v)
}

func appendTimestamp(b []byte, t time.Time) []byte {
	return appendLonglong(b, timeUnix(t))
}

// appendShortstr writes s as a shortstr. A string longer than 255 octets cannot
// be a shortstr; it is cut to its first 255 octets (as RabbitMQ cuts reply texts)
// rather than producing a frame the peer cannot parse.
func appendShortstr(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

func appendLongstr(b []byte, s string) []byte {
	b = appendLong(b, uint32(len(s)))
	return append(b, s...)
}
