package amqp

import (
	"reflect"
	"testing"
	"time"
)

// allMethods returns a zero value of every method the package defines, found
// by asking newMethod for every id pair of every class.
func allMethods(t testing.TB) []Method {
	t.Helper()
	var ms []Method
	for _, c := range []uint16{ClassConnection, ClassChannel, ClassExchange, ClassQueue, ClassBasic, ClassConfirm, ClassTx} {
		for id := range uint16(200) {
			if m := newMethod(c, id); m != nil {
				ms = append(ms, m)
			}
		}
	}
	if len(ms) != 64 {
		t.Fatalf("found %d methods, want 64", len(ms))
	}
	return ms
}

// sampleTable holds one field of every type, nested tables and arrays included.
func sampleTable() Table {
	return Table{
		{"bool", true},
		{"false", false},
		{"int8", int8(-8)},
		{"uint8", uint8(200)},
		{"int16", int16(-1600)},
		{"uint16", uint16(60000)},
		{"int32", int32(-320000)},
		{"uint32", uint32(4000000000)},
		{"int64", int64(-64000000000)},
		{"int64L", Int64L(-7)},
		{"float32", float32(3.25)},
		{"float64", float64(-6.125)},
		{"decimal", Decimal{Scale: 2, Value: 4000000000}},
		{"string", "a longstr"},
		{"empty", ""},
		{"bytes", []byte{0, 1, 2, 0xff}},
		{"timestamp", time.Unix(1700000000, 0).UTC()},
		{"void", nil},
		{"table", Table{{"nested", "yes"}, {"deeper", Table{{"n", int32(1)}}}}},
		{"array", []any{int32(1), "two", true, nil, []any{uint8(3)}, Table{{"k", "v"}}, Decimal{1, 2}, Int64L(9)}},
		{"", "empty name"},
		{"dup", int32(1)},
		{"dup", int32(2)},
	}
}

// fill sets every field of the struct v points to a non-zero value; bit fields
// alternate with their position, flipped when odd is true, so a bit packed in
// the wrong place shows.
func fill(t testing.TB, v any, odd bool) {
	t.Helper()
	s := reflect.ValueOf(v).Elem()
	for i := range s.NumField() {
		f := s.Field(i)
		name := s.Type().Field(i).Name
		switch f.Interface().(type) {
		case bool:
			f.SetBool((i%2 == 0) != odd)
		case uint8:
			f.SetUint(uint64(0xa0 + i))
		case uint16:
			f.SetUint(uint64(0xb000 + i))
		case uint32:
			f.SetUint(uint64(0xc0000000 + i))
		case uint64:
			f.SetUint(0xd000000000000000 + uint64(i))
		case string:
			f.SetString(name + "-value")
		case Table:
			f.Set(reflect.ValueOf(sampleTable()))
		default:
			t.Fatalf("%T.%s: no filler for %s", v, name, f.Type())
		}
	}
}
