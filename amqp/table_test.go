package amqp

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestTableRoundTrip(t *testing.T) {
	in := sampleTable()
	b := AppendTable(nil, in)
	got, err := DecodeTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("decoded\n%#v\nwant\n%#v", got, in)
	}
	if again := AppendTable(nil, got); !bytes.Equal(again, b) {
		t.Error("re-encoding differs")
	}
	if v, ok := got.Get("dup"); !ok || v != int32(1) {
		t.Errorf("Get(dup) = %v, %v; want the first", v, ok)
	}
	if _, ok := got.Get("missing"); ok {
		t.Error("Get(missing) found something")
	}
}

// One value of every type, each with its exact wire form.
func TestFieldValueWire(t *testing.T) {
	cases := []struct {
		v    any
		wire []byte
	}{
		{true, []byte{'t', 1}},
		{false, []byte{'t', 0}},
		{int8(-1), []byte{'b', 0xff}},
		{uint8(0xff), []byte{'B', 0xff}},
		{int16(-2), []byte{'s', 0xff, 0xfe}},
		{uint16(0xfffe), []byte{'u', 0xff, 0xfe}},
		{int32(-3), []byte{'I', 0xff, 0xff, 0xff, 0xfd}},
		{uint32(0xfffffffd), []byte{'i', 0xff, 0xff, 0xff, 0xfd}},
		{int64(-4), []byte{'l', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc}},
		{Int64L(-4), []byte{'L', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc}},
		{float32(1.5), []byte{'f', 0x3f, 0xc0, 0, 0}},
		{float64(1.5), []byte{'d', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{Decimal{Scale: 3, Value: 0xfffffffe}, []byte{'D', 3, 0xff, 0xff, 0xff, 0xfe}},
		{"ab", []byte{'S', 0, 0, 0, 2, 'a', 'b'}},
		{[]byte{1, 2}, []byte{'x', 0, 0, 0, 2, 1, 2}},
		{time.Unix(0x01020304, 0).UTC(), []byte{'T', 0, 0, 0, 0, 1, 2, 3, 4}},
		{Table{{"k", nil}}, []byte{'F', 0, 0, 0, 3, 1, 'k', 'V'}},
		{[]any{int8(1), nil}, []byte{'A', 0, 0, 0, 3, 'b', 1, 'V'}},
		{nil, []byte{'V'}},
	}
	for _, c := range cases {
		tab := Table{{"n", c.v}}
		want := append([]byte{0, 0, 0, byte(2 + len(c.wire)), 1, 'n'}, c.wire...)
		if got := AppendTable(nil, tab); !bytes.Equal(got, want) {
			t.Errorf("%T %v: encoded % x, want % x", c.v, c.v, got, want)
		}
		dec, err := DecodeTable(want)
		if err != nil || !reflect.DeepEqual(dec, tab) {
			t.Errorf("%T %v: decoded %#v, %v", c.v, c.v, dec, err)
		}
	}
}

func TestFieldValueConveniences(t *testing.T) {
	if got, want := AppendTable(nil, Table{{"i", 7}}), AppendTable(nil, Table{{"i", int64(7)}}); !bytes.Equal(got, want) {
		t.Errorf("int encodes as % x, want 'l' % x", got, want)
	}
	if got, want := AppendTable(nil, Table{{"f", []Field{{"a", true}}}}), AppendTable(nil, Table{{"f", Table{{"a", true}}}}); !bytes.Equal(got, want) {
		t.Errorf("[]Field encodes as % x, want % x", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("unsupported type did not panic")
		}
	}()
	AppendTable(nil, Table{{"c", complex(1, 2)}})
}

func TestFieldValueEdgeCases(t *testing.T) {
	// A 't' octet other than 0 or 1 is true, as in RabbitMQ, and comes back as 1.
	tab, err := DecodeTable([]byte{0, 0, 0, 3, 0, 't', 7})
	if err != nil || !reflect.DeepEqual(tab, Table{{"", true}}) {
		t.Errorf("t=7: %#v, %v", tab, err)
	}
	// NaN payloads and extreme timestamps survive byte for byte.
	for _, wire := range [][]byte{
		{0, 0, 0, 6, 0, 'f', 0x7f, 0xa0, 0x00, 0x01},
		{0, 0, 0, 10, 0, 'd', 0xff, 0xf0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 10, 0, 'T', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0, 0, 0, 10, 0, 'T', 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0, 0, 0, 10, 0, 'T', 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		tab, err := DecodeTable(wire)
		if err != nil {
			t.Fatalf("% x: %v", wire, err)
		}
		if got := AppendTable(nil, tab); !bytes.Equal(got, wire) {
			t.Errorf("% x came back as % x", wire, got)
		}
	}
	if v, _ := DecodeTable([]byte{0, 0, 0, 6, 0, 'f', 0x7f, 0xc0, 0, 0}); !math.IsNaN(float64(v[0].Value.(float32))) {
		t.Error("NaN lost")
	}
}

func TestDecodeTableErrors(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0, 0, 0},
		{0, 0, 0, 1},              // size past the end
		{0, 0, 0, 0, 9},           // trailing octet
		{0, 0, 0, 1, 5},           // name past the end
		{0, 0, 0, 2, 1, 'k'},      // no tag
		{0, 0, 0, 3, 1, 'k', 'Z'}, // unknown tag
		{0, 0, 0, 3, 1, 'k', 'I'}, // short value
		{0, 0, 0, 7, 1, 'k', 'S', 0xff, 0xff, 0xff, 0xff}, // longstr size past the end
		{0, 0, 0, 7, 1, 'k', 'F', 0, 0, 0, 1},             // nested table past the end
		{0, 0, 0, 8, 1, 'k', 'F', 0, 0, 0, 1, 0},          // nested table truncated inside
		{0, 0, 0, 8, 1, 'k', 'A', 0, 0, 0, 1, 'Z'},        // bad array element
		{0, 0, 0, 7, 1, 'k', 'x', 0x80, 0, 0, 0},          // bytes size past the end
	} {
		tab, err := DecodeTable(b)
		var e *Error
		if !errors.As(err, &e) || e.Code != FrameError || tab != nil {
			t.Errorf("% x: got %v, %v", b, tab, err)
		}
	}
}

func TestDecodedTableDoesNotAlias(t *testing.T) {
	b := AppendTable(nil, Table{{"s", "str"}, {"x", []byte("bin")}})
	tab, err := DecodeTable(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if tab[0].Value != "str" || string(tab[1].Value.([]byte)) != "bin" || tab[0].Name != "s" {
		t.Errorf("table changed with the buffer: %#v", tab)
	}
}
