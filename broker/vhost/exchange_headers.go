package vhost

import (
	"strings"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames/erlterm"
)

// x-match modes of a headers binding.
const (
	matchAll uint8 = iota
	matchAny
	matchAllWithX
	matchAnyWithX
)

// parseHeadersArgs is rabbit_exchange_type_headers:validate_binding/2 and
// parse_x_match/1; it keeps the fields headers_match/2 compares: never
// x-match, and other "x-" fields only in the -with-x modes.
func (b *binding) parseHeadersArgs() error {
	b.hmode = matchAll
	if v, ok := b.args.Get("x-match"); ok {
		s, isStr := v.(string)
		if !isStr {
			return precondition("Invalid x-match field type %s (value %s); expected longstr",
				typeName(v), erlangTerm(v))
		}
		switch s {
		case "all":
			b.hmode = matchAll
		case "any":
			b.hmode = matchAny
		case "all-with-x":
			b.hmode = matchAllWithX
		case "any-with-x":
			b.hmode = matchAnyWithX
		default:
			return precondition("Invalid x-match field value %s; expected all, any, all-with-x, or any-with-x",
				erlterm.Binary([]byte(s)))
		}
	}
	withX := b.hmode == matchAllWithX || b.hmode == matchAnyWithX
	b.hpattern = b.hpattern[:0]
	for _, f := range b.args {
		if f.Name == "x-match" || (!withX && strings.HasPrefix(f.Name, "x-")) {
			continue
		}
		b.hpattern = append(b.hpattern, f)
	}
	return nil
}

// headersMatch is rabbit_exchange_type_headers:headers_match/2 for one
// binding: a field with a void value only asks for presence; values compare
// as Erlang's == does.
func (b *binding) headersMatch(headers amqp.Table) bool {
	all, any := true, false
	for _, p := range b.hpattern {
		dv, ok := headers.Get(p.Name)
		switch {
		case !ok:
			all = false
		case p.Value == nil:
			any = true
		case termEqual(p.Value, dv):
			any = true
		default:
			all = false
		}
	}
	if b.hmode == matchAny || b.hmode == matchAnyWithX {
		return any
	}
	return all
}
