package vhost

import (
	"encoding/binary"

	"github.com/beatmq/beatmq/amqp"
)

// Priority queues (x-max-priority) and consumer priorities (x-priority).
//
// A queue declared with x-max-priority N (0 to 255, checked by
// declareArgChecks) delivers its messages highest priority first, FIFO
// within a priority; a message's priority is its priority property, 0 when
// absent and N when above N (rabbit_priority_queue:priority/2). The ready
// messages are kept by priority in ready.go.

// parsePriorityConfig reads a validated queue's x-max-priority (-1 when
// absent; rabbit_priority_queue:priorities/1 caps it at 255) and whether
// its single active consumer passes in consume order (sacInOrder, below).
func parsePriorityConfig(args amqp.Table) (maxPriority int16, sacInOrder bool) {
	maxPriority = -1
	if val, ok := args.Get("x-max-priority"); ok {
		if n, ok := intValue(val); ok && n >= 0 {
			maxPriority = int16(min(n, 255))
		}
	}
	return maxPriority, typeOf(args) == quorumQueue
}

// priorityOf is msg's priority in q: 0 unless q has x-max-priority. No lock
// needed.
func (q *Queue) priorityOf(msg *Message) uint8 {
	if q.cfg.maxPriority <= 0 {
		return 0
	}
	p, ok := propertyPriority(msg.Properties)
	if !ok {
		return 0
	}
	return uint8(min(int16(p), q.cfg.maxPriority))
}

// propertyPriority reads the priority property from a property list that
// NewMessage accepted, without decoding the rest: it steps over the
// properties before it (content-type, content-encoding, headers,
// delivery-mode). ok is false when the property is absent.
func propertyPriority(props []byte) (p uint8, ok bool) {
	if len(props) < 2 {
		return 0, false
	}
	f := binary.BigEndian.Uint16(props)
	if f&amqp.FlagPriority == 0 {
		return 0, false
	}
	i := 2
	for _, bit := range [...]uint16{amqp.FlagContentType, amqp.FlagContentEncoding, amqp.FlagHeaders, amqp.FlagDeliveryMode} {
		if f&bit == 0 {
			continue
		}
		if i >= len(props) {
			return 0, false
		}
		switch bit {
		case amqp.FlagHeaders:
			if i+4 > len(props) {
				return 0, false
			}
			i += 4 + int(binary.BigEndian.Uint32(props[i:]))
		case amqp.FlagDeliveryMode:
			i++
		default: // shortstr
			i += 1 + int(props[i])
		}
	}
	if i >= len(props) {
		return 0, false
	}
	return props[i], true
}
