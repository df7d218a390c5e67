package vhost

import (
	"slices"
	"strconv"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames/erlterm"
)

// x-overflow behaviours.
const (
	overflowDropHead uint8 = iota
	overflowRejectPublish
	overflowRejectPublishDLX
)

// queueConfig is what a queue's arguments ask for, parsed once at
// declaration.
type queueConfig struct {
	ttl      int64 // x-message-ttl in ms, -1 when absent
	expires  int64 // x-expires in ms, 0 when absent
	maxLen   int64 // x-max-length, -1 when absent
	maxBytes int64 // x-max-length-bytes, -1 when absent
	overflow uint8
	dlx      string
	hasDLX   bool
	dlrk     string
	hasDLRK  bool
	// sac is x-single-active-consumer: only the first consumer gets
	// messages, the next takes over when it goes.
	sac bool
	// quorum: the queue counts redeliveries (queue_quorum.go).
	quorum bool
	// deliveryLimit is x-delivery-limit when it is a number: a message
	// requeued more often is dead-lettered or dropped. limitArg is set
	// when the argument is there at all, a number or not.
	deliveryLimit int64
	hasLimit      bool
	limitArg      bool
	// sacInOrder: the next single active consumer is the first waiting
	// one, whatever its priority (a quorum queue); maxPriority is
	// x-max-priority (priority.go), -1 when absent.
	sacInOrder  bool
	maxPriority int16
}

// argCheck is one of rabbit_amqqueue:declare_args/0's validators: it returns
// the error term as ~p prints it, or "".
type argCheck struct {
	key   string
	check func(v any, args amqp.Table) string
}

func checkInt(v any) string {
	if _, ok := intValue(v); ok {
		return ""
	}
	return erlterm.String("expected integer, got " + typeName(v))
}

func checkNonNegInt(v any) string {
	if e := checkInt(v); e != "" {
		return e
	}
	if n, _ := intValue(v); n < 0 {
		return "{value_negative," + strconv.FormatInt(n, 10) + "}"
	}
	return ""
}

// checkExpiry is rabbit_misc:check_expiry/1.
func checkExpiry(n int64) string {
	switch {
	case n < 0:
		return "{value_negative," + strconv.FormatInt(n, 10) + "}"
	case n > maxExpiry:
		return "{value_too_large," + strconv.FormatInt(n, 10) + "}"
	}
	return ""
}

func unacceptable(v any) string { return "{unacceptable_type," + typeName(v) + "}" }

func oneOf(v any, known []string, bad string) string {
	s, ok := v.(string)
	if !ok {
		return unacceptable(v)
	}
	for _, k := range known {
		if s == k {
			return ""
		}
	}
	return bad
}

var declareArgChecks = []argCheck{
	{"x-expires", func(v any, _ amqp.Table) string {
		if e := checkInt(v); e != "" {
			return e
		}
		n, _ := intValue(v)
		if n == 0 {
			return "{value_zero,0}"
		}
		return checkExpiry(n)
	}},
	{"x-message-ttl", func(v any, _ amqp.Table) string {
		if e := checkInt(v); e != "" {
			return e
		}
		n, _ := intValue(v)
		return checkExpiry(n)
	}},
	{"x-dead-letter-exchange", func(v any, _ amqp.Table) string {
		if _, ok := v.(string); !ok {
			return unacceptable(v)
		}
		return ""
	}},
	{"x-dead-letter-routing-key", func(v any, args amqp.Table) string {
		if _, ok := v.(string); !ok {
			return unacceptable(v)
		}
		if _, ok := args.Get("x-dead-letter-exchange"); !ok {
			return "routing_key_but_no_dlx_defined"
		}
		return ""
	}},
	{"x-dead-letter-strategy", func(v any, _ amqp.Table) string {
		return oneOf(v, []string{"at-most-once", "at-least-once"}, "invalid_dlx_strategy")
	}},
	{"x-max-length", func(v any, _ amqp.Table) string { return checkNonNegInt(v) }},
	{"x-max-length-bytes", func(v any, _ amqp.Table) string { return checkNonNegInt(v) }},
	{"x-max-in-memory-length", func(v any, _ amqp.Table) string { return checkNonNegInt(v) }},
	{"x-max-in-memory-bytes", func(v any, _ amqp.Table) string { return checkNonNegInt(v) }},
	{"x-max-priority", func(v any, _ amqp.Table) string {
		if e := checkNonNegInt(v); e != "" {
			return e
		}
		if n, _ := intValue(v); n > 255 {
			return "{max_value_exceeded," + strconv.FormatInt(n, 10) + "}"
		}
		return ""
	}},
	{"x-overflow", func(v any, _ amqp.Table) string {
		if _, ok := v.(string); !ok {
			return unacceptable(v)
		}
		return oneOf(v, []string{"drop-head", "reject-publish", "reject-publish-dlx"}, "invalid_overflow")
	}},
	{"x-queue-mode", func(v any, _ amqp.Table) string {
		s, ok := v.(string)
		if !ok {
			return unacceptable(v)
		}
		return oneOf(v, []string{"default", "lazy"}, erlterm.String("unsupported queue mode '"+s+"'"))
	}},
	{"x-queue-version", func(v any, _ amqp.Table) string {
		if e := checkNonNegInt(v); e != "" {
			return e
		}
		if n, _ := intValue(v); n != 1 && n != 2 {
			return erlterm.String("unsupported queue version '" + strconv.FormatInt(n, 10) + "'")
		}
		return ""
	}},
	{"x-single-active-consumer", func(v any, _ amqp.Table) string {
		if _, ok := v.(bool); !ok {
			return unacceptable(v)
		}
		return ""
	}},
	{"x-queue-type", checkQueueType},
	{"x-quorum-initial-group-size", func(v any, _ amqp.Table) string {
		if e := checkNonNegInt(v); e != "" {
			return e
		}
		if n, _ := intValue(v); n == 0 {
			return "{value_zero,0}"
		}
		return ""
	}},
	{"x-queue-leader-locator", func(v any, _ amqp.Table) string {
		// rabbit_queue_location:queue_leader_locators/0.
		return oneOf(v, []string{"client-local", "balanced", "random", "least-leaders"}, "invalid_queue_locator_arg")
	}},
}

func checkQueueType(v any, _ amqp.Table) string {
	s, ok := v.(string)
	if !ok {
		return unacceptable(v)
	}
	return oneOf(v, []string{"classic", "quorum", "stream"}, erlterm.String("unsupported queue type '"+s+"'"))
}

// checkDeclareArgs is rabbit_amqqueue:check_declare_arguments/2 for a new
// queue: x-queue-type first, then the arguments of the queue's type, then
// no argument of another type. Stream queues are refused: beatmq has none.
func (v *VHost) checkDeclareArgs(name string, args amqp.Table) error {
	invalid := func(key, reason string) error {
		return precondition("invalid arg '%s' for %s: %s", key, v.rs("queue", name), reason)
	}
	if t, ok := args.Get("x-queue-type"); ok {
		if e := checkQueueType(t, args); e != "" {
			return invalid("x-queue-type", e)
		}
	}
	qt := typeOf(args)
	if qt == streamQueue {
		return invalid("x-queue-type", "stream queues are not supported by beatmq")
	}
	for _, c := range declareArgChecks {
		if !slices.Contains(qt.queueArgs, c.key) {
			continue
		}
		if val, ok := args.Get(c.key); ok {
			if e := c.check(val, args); e != "" {
				return invalid(c.key, e)
			}
		}
	}
	if err := v.checkTypeKeys(name, qt, args, false); err != nil {
		return err
	}
	if qt == quorumQueue {
		return v.checkQuorumArgs(name, args)
	}
	return nil
}

// parseQueueConfig reads validated arguments.
func parseQueueConfig(args amqp.Table) queueConfig {
	c := queueConfig{ttl: -1, maxLen: -1, maxBytes: -1}
	if val, ok := args.Get("x-message-ttl"); ok {
		c.ttl, _ = intValue(val)
	}
	if val, ok := args.Get("x-expires"); ok {
		c.expires, _ = intValue(val)
	}
	if val, ok := args.Get("x-max-length"); ok {
		c.maxLen, _ = intValue(val)
	}
	if val, ok := args.Get("x-max-length-bytes"); ok {
		c.maxBytes, _ = intValue(val)
	}
	if val, ok := args.Get("x-overflow"); ok {
		switch val {
		case "reject-publish":
			c.overflow = overflowRejectPublish
		case "reject-publish-dlx":
			c.overflow = overflowRejectPublishDLX
		}
	}
	if val, ok := args.Get("x-dead-letter-exchange"); ok {
		c.dlx, c.hasDLX = val.(string)
	}
	if val, ok := args.Get("x-dead-letter-routing-key"); ok {
		c.dlrk, c.hasDLRK = val.(string)
	}
	if val, ok := args.Get("x-single-active-consumer"); ok {
		c.sac = val == true
	}
	if typeOf(args) == quorumQueue {
		c.quorum = true
		parseQuorumConfig(&c, args)
	}
	c.maxPriority, c.sacInOrder = parsePriorityConfig(args)
	return c
}

// assertArgs is rabbit_misc:assert_args_equivalence/4 over keys.
func (v *VHost) assertArgs(kind, name string, current, received amqp.Table, keys []string) error {
	for _, key := range keys {
		cv, cok := current.Get(key)
		rv, rok := received.Get(key)
		switch {
		case !cok && !rok:
			continue
		case cok && rok:
			if typeName(cv) == typeName(rv) && termEqual(cv, rv) {
				continue
			}
			if typeClass(cv) == typeClass(rv) && termEqual(cv, rv) {
				continue
			}
		}
		// rabbit_misc:assert_field_equivalence/4: a classic queue with no
		// x-queue-type equals one declared with "classic".
		if key == "x-queue-type" && ((!cok && rv == "classic") || (!rok && cv == "classic")) {
			continue
		}
		if cok && rok {
			// assert_args_equivalence1/4 compares the bare values when both
			// are there, so the text shows them without their types.
			return v.inequivalent(key, kind, name, formatValue(rv), formatValue(cv))
		}
		return v.inequivalent(key, kind, name, formatArg(rv, rok), formatArg(cv, cok))
	}
	return nil
}
