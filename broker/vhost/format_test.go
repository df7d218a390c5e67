package vhost

import (
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

func TestFormatArg(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{true, "the value 'true' of type 'bool'"},
		{int8(-1), "the value '-1' of type 'byte'"},
		{uint8(200), "the value '200' of type 'unsignedbyte'"},
		{int16(-300), "the value '-300' of type 'short'"},
		{uint16(60000), "the value '60000' of type 'unsignedshort'"},
		{int32(1000), "the value '1000' of type 'signedint'"},
		{uint32(4000000000), "the value '4000000000' of type 'unsignedint'"},
		{int64(5), "the value '5' of type 'long'"},
		{amqp.Int64L(6), "the value '6' of type 'long'"},
		{float32(1.5), "the value '1.5' of type 'float'"},
		{float64(100), "the value '100.0' of type 'double'"},
		{float64(1e21), "the value '1.0e21' of type 'double'"},
		{float64(1.5e-7), "the value '1.5e-7' of type 'double'"},
		{amqp.Decimal{Scale: 2, Value: 314}, "the value '{2,314}' of type 'decimal'"},
		{"text", "the value 'text' of type 'longstr'"},
		{[]byte{1, 2}, "the value '\x01\x02' of type 'binary'"},
		{time.Unix(1700000000, 0), "the value '1700000000' of type 'timestamp'"},
		{nil, "the value 'undefined' of type 'void'"},
		{amqp.Table{{Name: "k", Value: "v"}}, `the value '[{<<"k">>,longstr,<<"v">>}]' of type 'table'`},
		{[]any{int32(1), "a"}, `the value '[{signedint,1},{longstr,<<"a">>}]' of type 'array'`},
	} {
		if got := formatArg(c.v, true); got != c.want {
			t.Errorf("%#v: got %q, want %q", c.v, got, c.want)
		}
	}
	if got := formatArg(nil, false); got != "none" {
		t.Errorf("absent: %q", got)
	}
}

func TestStripCRLF(t *testing.T) {
	e := newEnv(t)
	d, err := e.s.DeclareQueue(QueueSpec{Name: "a\r\nb"})
	noErr(t, err)
	if d.Name != "ab" {
		t.Fatalf("name %q", d.Name)
	}
}
