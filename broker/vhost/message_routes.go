package vhost

import (
	"slices"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames/erlterm"
)

// Sender-selected distribution: the CC and BCC headers of a published
// message, arrays of strings, add routing keys to the one of its
// basic.publish. The exchange routes the message with all of them and
// every queue gets one copy however many keys match it. The BCC header is
// removed from the message before it is routed, so no consumer sees it,
// and it is not stored (rabbit_basic:message/3 with header_routes/1 and
// strip_header/2).

// setRoutes reads the CC and BCC routing keys of p's headers into m and
// removes the BCC header from m's properties. A header that is not an
// array makes the publish fail (routesErr): RabbitMQ's 406 "invalid
// message: {unacceptable_type_in_header,"CC",longstr}". Elements that are
// not strings are ignored, as RabbitMQ does.
func (m *Message) setRoutes(p *amqp.Properties) {
	for _, key := range [...]string{"CC", "BCC"} {
		v, ok := p.Headers.Get(key)
		if !ok {
			continue
		}
		a, isArray := v.([]any)
		if !isArray {
			m.routesErr = precondition("invalid message: {unacceptable_type_in_header,%s,%s}", erlterm.String(key), typeName(v))
			return
		}
		keys := stringElems(a)
		if key == "CC" {
			m.cc = keys
		} else {
			m.bcc = keys
		}
	}
	i := slices.IndexFunc(p.Headers, func(f amqp.Field) bool { return f.Name == "BCC" })
	if i < 0 {
		return
	}
	p.Headers = slices.Delete(slices.Clone(p.Headers), i, i+1)
	m.Headers = p.Headers
	m.Properties = amqp.AppendProperties(nil, p)
}

// stringElems returns the strings of an array field, in order.
func stringElems(a []any) []string {
	var out []string
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// appendRoutingKeys appends the keys msg is routed with: key (its
// basic.publish's), then its CC and BCC keys.
func appendRoutingKeys(dst []string, key string, msg *Message) []string {
	dst = append(dst, key)
	dst = append(dst, msg.cc...)
	return append(dst, msg.bcc...)
}

// headerRoutes is rabbit_basic:header_routes/1 on headers as they are now
// (the CC keys, and BCC keys if a BCC header is there): what x-death's
// routing-keys lists after the routing key.
func headerRoutes(h amqp.Table) []any {
	var out []any
	for _, key := range []string{"CC", "BCC"} {
		if v, ok := h.Get(key); ok {
			if a, ok := v.([]any); ok {
				for _, s := range stringElems(a) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
