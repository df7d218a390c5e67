package vhost

import (
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

func TestHeadersMatching(t *testing.T) {
	tbl := func(kv ...any) amqp.Table {
		var t amqp.Table
		for i := 0; i < len(kv); i += 2 {
			t = append(t, amqp.Field{Name: kv[i].(string), Value: kv[i+1]})
		}
		return t
	}
	cases := []struct {
		name    string
		binding amqp.Table
		headers amqp.Table
		want    bool
	}{
		{"all default, match", tbl("a", "1", "b", int32(2)), tbl("b", int32(2), "a", "1", "c", "x"), true},
		{"all default, one missing", tbl("a", "1", "b", int32(2)), tbl("a", "1"), false},
		{"all, one differs", tbl("x-match", "all", "a", "1", "b", "2"), tbl("a", "1", "b", "3"), false},
		{"any, one matches", tbl("x-match", "any", "a", "1", "b", "2"), tbl("a", "0", "b", "2"), true},
		{"any, none matches", tbl("x-match", "any", "a", "1"), tbl("a", "2"), false},
		{"any, no headers", tbl("x-match", "any", "a", "1"), nil, false},
		{"all, empty pattern matches anything", tbl("x-match", "all"), nil, true},
		{"any, empty pattern matches nothing", tbl("x-match", "any"), tbl("a", "1"), false},
		{"x- keys ignored by all", tbl("x-match", "all", "x-foo", "bar", "a", "1"), tbl("a", "1"), true},
		{"x- keys ignored by any", tbl("x-match", "any", "x-foo", "bar"), tbl("x-foo", "bar"), false},
		{"all-with-x compares x- keys", tbl("x-match", "all-with-x", "x-foo", "bar", "a", "1"), tbl("a", "1"), false},
		{"all-with-x match", tbl("x-match", "all-with-x", "x-foo", "bar", "a", "1"), tbl("a", "1", "x-foo", "bar"), true},
		{"any-with-x match", tbl("x-match", "any-with-x", "x-foo", "bar"), tbl("x-foo", "bar"), true},
		{"void pattern: presence only", tbl("a", nil), tbl("a", int64(42)), true},
		{"void pattern: absent", tbl("a", nil), tbl("b", int64(42)), false},
		{"numbers compare by value", tbl("n", int8(5)), tbl("n", int64(5)), true},
		{"int equals float", tbl("n", int32(1)), tbl("n", float64(1)), true},
		{"different numbers", tbl("n", int32(1)), tbl("n", int32(2)), false},
		{"string equals bytes", tbl("s", "abc"), tbl("s", []byte("abc")), true},
		{"string does not equal number", tbl("s", "1"), tbl("s", int32(1)), false},
		{"bool", tbl("b", true), tbl("b", true), true},
		{"timestamp equals its seconds", tbl("t", time.Unix(5, 0)), tbl("t", int64(5)), true},
		{"first of duplicate headers", tbl("a", "1"), tbl("a", "2", "a", "1"), false},
		{"nested table", tbl("t", amqp.Table{{Name: "k", Value: "v"}}), tbl("t", amqp.Table{{Name: "k", Value: "v"}}), true},
		{"nested array with other types", tbl("a", []any{int32(1)}), tbl("a", []any{int64(1)}), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &binding{args: c.binding}
			noErr(t, b.parseHeadersArgs())
			if got := b.headersMatch(c.headers); got != c.want {
				t.Fatalf("match = %v, want %v", got, c.want)
			}
		})
	}
}

func TestHeadersExchangeRouting(t *testing.T) {
	e := newEnv(t)
	e.declare("all", nil)
	e.declare("any", nil)
	e.bind("all", "amq.match", "", amqp.Table{{Name: "x-match", Value: "all"}, {Name: "format", Value: "pdf"}, {Name: "type", Value: "report"}})
	e.bind("any", "amq.headers", "", amqp.Table{{Name: "x-match", Value: "any"}, {Name: "format", Value: "pdf"}, {Name: "type", Value: "report"}})
	noErr(t, e.s.BindExchange("amq.match", "amq.headers", "", nil))
	for _, c := range []struct {
		headers amqp.Table
		want    string
	}{
		{amqp.Table{{Name: "format", Value: "pdf"}, {Name: "type", Value: "report"}}, "all,any"},
		{amqp.Table{{Name: "format", Value: "pdf"}}, "any"},
		{amqp.Table{{Name: "type", Value: "log"}}, ""},
	} {
		m := propsMsg(t, "x", amqp.Properties{Headers: c.headers})
		got, err := e.v.Route("amq.headers", "ignored", m.Headers)
		noErr(t, err)
		if s := joinNames(got); s != c.want {
			t.Errorf("headers %v: routed to %q, want %q", c.headers, s, c.want)
		}
	}
}

func TestHeadersBindValidation(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	wantErr(t, e.s.BindQueue("q", "amq.headers", "", amqp.Table{{Name: "x-match", Value: "some"}}),
		amqp.PreconditionFailed, `PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x`)
	wantErr(t, e.s.BindQueue("q", "amq.headers", "", amqp.Table{{Name: "x-match", Value: int32(1)}}),
		amqp.PreconditionFailed, `PRECONDITION_FAILED - Invalid x-match field type signedint (value 1); expected longstr`)
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ","
		}
		s += n
	}
	return s
}
