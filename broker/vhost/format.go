package vhost

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// typeName is the name RabbitMQ's rabbit_binary_parser gives a field value's
// type, which its error texts show ("signedint", "longstr", ...).
func typeName(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case int8:
		return "byte"
	case uint8:
		return "unsignedbyte"
	case int16:
		return "short"
	case uint16:
		return "unsignedshort"
	case int32:
		return "signedint"
	case uint32:
		return "unsignedint"
	case int64, amqp.Int64L, int:
		return "long"
	case float32:
		return "float"
	case float64:
		return "double"
	case amqp.Decimal:
		return "decimal"
	case string:
		return "longstr"
	case []byte:
		return "binary"
	case time.Time:
		return "timestamp"
	case amqp.Table, []amqp.Field:
		return "table"
	case []any:
		return "array"
	case nil:
		return "void"
	}
	return "unknown"
}

// typeClass is rabbit_misc:type_class/1: integer types (and decimal) compare
// as one class, the two float types as another.
func typeClass(v any) string {
	switch v.(type) {
	case int8, uint8, int16, uint16, int32, uint32, int64, amqp.Int64L, int, amqp.Decimal:
		return "int"
	case float32, float64:
		return "float"
	}
	return typeName(v)
}

// formatArg is rabbit_misc:val/1 for a table entry: "none" when absent, else
// "the value '1000' of type 'signedint'" (binaries with ~s, the rest with ~p).
func formatArg(v any, present bool) string {
	if !present {
		return "none"
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		s = erlangTerm(v)
	}
	return "the value '" + s + "' of type '" + typeName(v) + "'"
}

// formatBool is rabbit_misc:val/1 for a plain Erlang term: 'true'.
func formatBool(b bool) string {
	if b {
		return "'true'"
	}
	return "'false'"
}

// erlangTerm renders a field value as Erlang's ~p prints the term RabbitMQ
// holds for it.
func erlangTerm(v any) string {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case int8:
		return strconv.FormatInt(int64(x), 10)
	case uint8:
		return strconv.FormatUint(uint64(x), 10)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case uint16:
		return strconv.FormatUint(uint64(x), 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint32:
		return strconv.FormatUint(uint64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case amqp.Int64L:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.Itoa(x)
	case float32:
		return erlangFloat(float64(x))
	case float64:
		return erlangFloat(x)
	case amqp.Decimal:
		return "{" + strconv.Itoa(int(x.Scale)) + "," + strconv.FormatUint(uint64(x.Value), 10) + "}"
	case string:
		return erlangBinary([]byte(x))
	case []byte:
		return erlangBinary(x)
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10)
	case nil:
		return "undefined"
	case amqp.Table:
		return erlangTable(x)
	case []amqp.Field:
		return erlangTable(amqp.Table(x))
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("{" + typeName(e) + "," + erlangTerm(e) + "}")
		}
		b.WriteByte(']')
		return b.String()
	}
	return "undefined"
}

func erlangTable(t amqp.Table) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range t {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{" + erlangBinary([]byte(f.Name)) + "," + typeName(f.Value) + "," + erlangTerm(f.Value) + "}")
	}
	b.WriteByte(']')
	return b.String()
}

// erlangBinary renders b as ~p prints a binary: <<"abc">> when printable,
// else <<0,20>>.
func erlangBinary(b []byte) string {
	printable := true
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	var sb strings.Builder
	sb.WriteString("<<")
	if printable {
		if len(b) > 0 {
			sb.WriteByte('"')
			for _, c := range b {
				if c == '"' || c == '\\' {
					sb.WriteByte('\\')
				}
				sb.WriteByte(c)
			}
			sb.WriteByte('"')
		}
	} else {
		for i, c := range b {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.Itoa(int(c)))
		}
	}
	sb.WriteString(">>")
	return sb.String()
}

// erlangFloat approximates Erlang's shortest float printing: 100.0, 1.5,
// 1.0e21, 1.0e-5.
func erlangFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	a := math.Abs(f)
	if a == 0 || (a >= 1e-4 && a < 1e21) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "e" + exp
}

// intValue returns v as an integer when its type is one of RabbitMQ's
// INTEGER_ARG_TYPES (rabbit_amqqueue), plus 'L' and Go int.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int64:
		return x, true
	case amqp.Int64L:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}

// numberValue returns v as a float64 for Erlang's numeric == comparison.
func numberValue(v any) (float64, bool) {
	if i, ok := intValue(v); ok {
		return float64(i), true
	}
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case time.Time:
		return float64(x.Unix()), true
	}
	return 0, false
}

// termEqual is Erlang's == on the values RabbitMQ holds for two field
// values: numbers compare by value whatever their width (timestamps are
// integers there), strings and byte strings are both binaries, and nested
// tables and arrays compare with their type tags.
func termEqual(a, b any) bool {
	if x, ok := numberValue(a); ok {
		y, ok := numberValue(b)
		if !ok {
			return false
		}
		xi, xInt := intValue(a)
		yi, yInt := intValue(b)
		if xInt && yInt {
			return xi == yi
		}
		return x == y
	}
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return x == y
		case []byte:
			return x == string(y)
		}
		return false
	case []byte:
		switch y := b.(type) {
		case string:
			return string(x) == y
		case []byte:
			return string(x) == string(y)
		}
		return false
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case amqp.Decimal:
		y, ok := b.(amqp.Decimal)
		return ok && x == y
	case nil:
		return b == nil
	case amqp.Table:
		return tableEqual(x, asTable(b))
	case []amqp.Field:
		return tableEqual(amqp.Table(x), asTable(b))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if typeName(x[i]) != typeName(y[i]) || !termEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func asTable(v any) amqp.Table {
	switch t := v.(type) {
	case amqp.Table:
		if t == nil {
			return amqp.Table{}
		}
		return t
	case []amqp.Field:
		return amqp.Table(t)
	}
	return nil
}

func tableEqual(a, b amqp.Table) bool {
	if b == nil || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || typeName(a[i].Value) != typeName(b[i].Value) || !termEqual(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}
