package vhost

import (
	"strconv"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames/erlterm"
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

// formatValue is rabbit_misc:val/1 for a bare table value: '1000'
// (binaries with ~s, the rest with ~p).
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + x + "'"
	case []byte:
		return "'" + string(x) + "'"
	}
	return "'" + erlangTerm(v) + "'"
}

// formatBool is rabbit_misc:val/1 for a plain Erlang term: 'true'.
func formatBool(b bool) string {
	if b {
		return "'true'"
	}
	return "'false'"
}

// erlangTerm renders a field value as Erlang's ~p prints the term RabbitMQ
// holds for it (on one line), with erlterm's primitives.
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
		return erlterm.Float(float64(x))
	case float64:
		return erlterm.Float(x)
	case amqp.Decimal:
		return erlterm.Tuple(strconv.Itoa(int(x.Scale)), strconv.FormatUint(uint64(x.Value), 10))
	case string:
		return erlterm.Binary([]byte(x))
	case []byte:
		return erlterm.Binary(x)
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10)
	case nil:
		return "undefined"
	case amqp.Table:
		return erlangTable(x)
	case []amqp.Field:
		return erlangTable(amqp.Table(x))
	case []any:
		elems := make([]string, len(x))
		for i, e := range x {
			elems[i] = erlterm.Tuple(typeName(e), erlangTerm(e))
		}
		return erlterm.List(elems...)
	}
	return "undefined"
}

// erlangTable renders a field table as Erlang's ~p prints the list of
// {Name,Type,Value} that RabbitMQ holds for it (on one line).
func erlangTable(t amqp.Table) string {
	elems := make([]string, len(t))
	for i, f := range t {
		elems[i] = erlterm.Tuple(erlterm.Binary([]byte(f.Name)), typeName(f.Value), erlangTerm(f.Value))
	}
	return erlterm.List(elems...)
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
