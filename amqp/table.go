package amqp

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Table is an AMQP field table: its fields in wire order, duplicates kept.
//
// Each value has the Go type of its wire tag, so decoding and encoding again
// gives the same octets (the only normalisation: a 't' octet other than 0 or 1
// comes back as 1, since RabbitMQ, too, reads it as a boolean):
//
//	t bool      b int8     B uint8     s int16    u uint16   I int32
//	i uint32    l int64    L Int64L    f float32  d float64  D Decimal
//	S string    x []byte   T time.Time F Table    A []any    V nil
//
// Encoding also accepts int (written as 'l') and []Field (as 'F'). Tag and
// signedness follow RabbitMQ's rabbit_binary_parser:parse_table/1.
type Table []Field

// Field is one entry of a Table.
type Field struct {
	Name  string
	Value any
}

// Get returns the value of the first field called name, as RabbitMQ's
// rabbit_misc:table_lookup/2 does.
func (t Table) Get(name string) (any, bool) {
	for i := range t {
		if t[i].Name == name {
			return t[i].Value, true
		}
	}
	return nil, false
}

// Decimal is a field value of type 'D': Value × 10^-Scale. RabbitMQ reads both
// parts unsigned.
type Decimal struct {
	Scale uint8
	Value uint32
}

// Int64L is a field value received with tag 'L'. That tag is not in the 0-9-1
// table of types; RabbitMQ accepts it and reads it as a signed 64-bit integer
// like 'l'. The distinct type makes it go out as 'L' again.
type Int64L int64

// DecodeTable decodes an encoded field table: a long size followed by that many
// octets of fields, and nothing after them. Errors are *Error with code 501.
func DecodeTable(b []byte) (Table, error) {
	r := reader{b: b}
	t := r.table()
	if r.bad || r.off != len(b) {
		return nil, decodeError(nil, b)
	}
	return t, nil
}

// AppendTable appends t, encoded with its long size in front, to dst. It panics
// if a value has a type that Table does not list: tables come from the decoder
// or from the broker's own code, so that is a programming error.
func AppendTable(dst []byte, t Table) []byte {
	return appendTable(dst, t)
}

// fieldParser parses the octets of one table (and the tables and arrays nested
// in it). Every length is checked against the octets that remain before
// anything is allocated, and every string value and name is a substring of one
// copy of the table's octets, made the first time a string is needed.
type fieldParser struct {
	b []byte
	s string
}

func parseTable(b []byte) (Table, bool) {
	p := fieldParser{b: b}
	return p.table(0, len(b))
}

func (p *fieldParser) str(i, j int) string {
	if i == j {
		return ""
	}
	if p.s == "" {
		p.s = string(p.b)
	}
	return p.s[i:j]
}

// room reports whether n octets fit between i and end.
func room(i, end int, n uint64) bool { return n <= uint64(end-i) }

func (p *fieldParser) table(i, end int) (Table, bool) {
	// Counting first sizes the slice exactly: growing it by appending would
	// allocate several times the final size, and a frame full of tiny fields
	// would make the broker allocate far more than the frame.
	n, ok := p.count(i, end, true)
	if !ok {
		return nil, false
	}
	if n == 0 {
		return nil, true
	}
	t := make(Table, 0, n)
	for i < end {
		n := int(p.b[i])
		i++
		if !room(i, end, uint64(n)+1) {
			return nil, false
		}
		name := p.str(i, i+n)
		i += n
		tag := p.b[i]
		v, next, ok := p.value(tag, i+1, end)
		if !ok {
			return nil, false
		}
		t = append(t, Field{Name: name, Value: v})
		i = next
	}
	return t, true
}

func (p *fieldParser) array(i, end int) ([]any, bool) {
	n, ok := p.count(i, end, false)
	if !ok {
		return nil, false
	}
	a := make([]any, 0, n)
	for i < end {
		v, next, ok := p.value(p.b[i], i+1, end)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		i = next
	}
	return a, true
}

// count counts the entries of a table (named) or array between i and end,
// stepping over each value without decoding it; nested tables and arrays are
// stepped over by their size and checked when they are parsed.
func (p *fieldParser) count(i, end int, named bool) (int, bool) {
	n := 0
	for i < end {
		_, _, next, ok := skipField(p.b, i, end, named)
		if !ok {
			return 0, false
		}
		i = next
		n++
	}
	return n, true
}

// skipField steps over the entry of a table (named) or array that starts at
// i in b and must end by end: it returns the value's tag, where the value
// starts and where the next entry starts. It checks the tag and every length
// at this level; a nested table or array is stepped over by its size.
func skipField(b []byte, i, end int, named bool) (tag byte, val, next int, ok bool) {
	if named {
		l := int(b[i])
		if !room(i+1, end, uint64(l)+1) {
			return 0, 0, 0, false
		}
		i += 1 + l
	}
	tag = b[i]
	i++
	var size uint64
	switch tag {
	case 't', 'b', 'B':
		size = 1
	case 's', 'u':
		size = 2
	case 'I', 'i', 'f':
		size = 4
	case 'D':
		size = 5
	case 'l', 'L', 'd', 'T':
		size = 8
	case 'V':
	case 'S', 'x', 'F', 'A':
		if !room(i, end, 4) {
			return 0, 0, 0, false
		}
		size = 4 + uint64(binary.BigEndian.Uint32(b[i:]))
	default:
		return 0, 0, 0, false
	}
	if !room(i, end, size) {
		return 0, 0, 0, false
	}
	return tag, i, i + int(size), true
}

// validFields reports whether the octets of b between i and end are the
// entries of a table (named) or array that parseTable would accept, nested
// tables and arrays included: count's checks at every level, without
// allocating.
func validFields(b []byte, i, end int, named bool) bool {
	for i < end {
		tag, val, next, ok := skipField(b, i, end, named)
		if !ok {
			return false
		}
		switch tag {
		case 'F':
			ok = validFields(b, val+4, next, true)
		case 'A':
			ok = validFields(b, val+4, next, false)
		}
		if !ok {
			return false
		}
		i = next
	}
	return true
}

// value parses the value of type tag that starts at i; it returns the value and
// where the next one starts.
func (p *fieldParser) value(tag byte, i, end int) (any, int, bool) {
	b := p.b
	fixed := func(n uint64) bool { return room(i, end, n) }
	switch tag {
	case 't':
		if fixed(1) {
			return b[i] != 0, i + 1, true
		}
	case 'b':
		if fixed(1) {
			return int8(b[i]), i + 1, true
		}
	case 'B':
		if fixed(1) {
			return b[i], i + 1, true
		}
	case 's':
		if fixed(2) {
			return int16(binary.BigEndian.Uint16(b[i:])), i + 2, true
		}
	case 'u':
		if fixed(2) {
			return binary.BigEndian.Uint16(b[i:]), i + 2, true
		}
	case 'I':
		if fixed(4) {
			return int32(binary.BigEndian.Uint32(b[i:])), i + 4, true
		}
	case 'i':
		if fixed(4) {
			return binary.BigEndian.Uint32(b[i:]), i + 4, true
		}
	case 'l':
		if fixed(8) {
			return int64(binary.BigEndian.Uint64(b[i:])), i + 8, true
		}
	case 'L':
		if fixed(8) {
			return Int64L(binary.BigEndian.Uint64(b[i:])), i + 8, true
		}
	case 'f':
		if fixed(4) {
			return math.Float32frombits(binary.BigEndian.Uint32(b[i:])), i + 4, true
		}
	case 'd':
		if fixed(8) {
			return math.Float64frombits(binary.BigEndian.Uint64(b[i:])), i + 8, true
		}
	case 'D':
		if fixed(5) {
			return Decimal{Scale: b[i], Value: binary.BigEndian.Uint32(b[i+1:])}, i + 5, true
		}
	case 'T':
		if fixed(8) {
			return unixTime(binary.BigEndian.Uint64(b[i:])), i + 8, true
		}
	case 'V':
		return nil, i, true
	case 'S', 'x', 'F', 'A':
		if !fixed(4) {
			break
		}
		n := uint64(binary.BigEndian.Uint32(b[i:]))
		i += 4
		if !room(i, end, n) {
			break
		}
		j := i + int(n)
		switch tag {
		case 'S':
			return p.str(i, j), j, true
		case 'x':
			return append(make([]byte, 0, j-i), b[i:j]...), j, true
		case 'F':
			t, ok := p.table(i, j)
			return t, j, ok
		case 'A':
			a, ok := p.array(i, j)
			return a, j, ok
		}
	}
	return nil, 0, false
}

func appendTable(b []byte, t Table) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	for _, f := range t {
		b = appendShortstr(b, f.Name)
		b = appendValue(b, f.Value)
	}
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

func appendArray(b []byte, a []any) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	for _, v := range a {
		b = appendValue(b, v)
	}
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case bool:
		if v {
			return append(b, 't', 1)
		}
		return append(b, 't', 0)
	case int8:
		return append(b, 'b', byte(v))
	case uint8:
		return append(b, 'B', v)
	case int16:
		return appendShort(append(b, 's'), uint16(v))
	case uint16:
		return appendShort(append(b, 'u'), v)
	case int32:
		return appendLong(append(b, 'I'), uint32(v))
	case uint32:
		return appendLong(append(b, 'i'), v)
	case int64:
		return appendLonglong(append(b, 'l'), uint64(v))
	case int:
		return appendLonglong(append(b, 'l'), uint64(v))
	case Int64L:
		return appendLonglong(append(b, 'L'), uint64(v))
	case float32:
		return appendLong(append(b, 'f'), math.Float32bits(v))
	case float64:
		return appendLonglong(append(b, 'd'), math.Float64bits(v))
	case Decimal:
		return appendLong(append(b, 'D', v.Scale), v.Value)
	case string:
		return appendLongstr(append(b, 'S'), v)
	case []byte:
		b = appendLong(append(b, 'x'), uint32(len(v)))
		return append(b, v...)
	case time.Time:
		return appendTimestamp(append(b, 'T'), v)
	case Table:
		return appendTable(append(b, 'F'), v)
	case []Field:
		return appendTable(append(b, 'F'), v)
	case []any:
		return appendArray(append(b, 'A'), v)
	case nil:
		return append(b, 'V')
	}
	panic(fmt.Sprintf("amqp: field value of unsupported type %T", v))
}
