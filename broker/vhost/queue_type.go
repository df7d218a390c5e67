package vhost

import (
	"slices"

	"github.com/beatmq/beatmq/amqp"
)

// queueType is one value of x-queue-type: the arguments RabbitMQ 3.10.8
// accepts for it (its module's capabilities/0), which are also the ones
// compared when the queue is declared again.
type queueType struct {
	name   string // "classic", as x-queue-type and /api/queues name it
	module string // "rabbit_classic_queue", as error texts name it
	// queueArgs and consumerArgs are the queue.declare and basic.consume
	// arguments of the type, in RabbitMQ's order.
	queueArgs    []string
	consumerArgs []string
	// serverNamed: queue.declare may leave the name to the broker.
	serverNamed bool
	// replicated: durable, never exclusive or auto-delete (checked at
	// declaration, rabbit_queue_type_util).
	replicated bool
}

var (
	classicQueue = &queueType{
		name: "classic", module: "rabbit_classic_queue",
		queueArgs: []string{
			"x-expires", "x-message-ttl", "x-dead-letter-exchange",
			"x-dead-letter-routing-key", "x-max-length",
			"x-max-length-bytes", "x-max-priority",
			"x-overflow", "x-queue-mode", "x-queue-version",
			"x-single-active-consumer", "x-queue-type",
			"x-queue-master-locator",
		},
		consumerArgs: []string{"x-cancel-on-ha-failover", "x-priority", "x-credit"},
		serverNamed:  true,
	}
	quorumQueue = &queueType{
		name: "quorum", module: "rabbit_quorum_queue",
		queueArgs: []string{
			"x-dead-letter-exchange", "x-dead-letter-routing-key",
			"x-dead-letter-strategy", "x-expires", "x-max-length",
			"x-max-length-bytes", "x-max-in-memory-length",
			"x-max-in-memory-bytes", "x-overflow",
			"x-single-active-consumer", "x-queue-type",
			"x-quorum-initial-group-size", "x-delivery-limit",
			"x-message-ttl", "x-queue-leader-locator",
		},
		consumerArgs: []string{"x-priority", "x-credit"},
		replicated:   true,
	}
	streamQueue = &queueType{
		name: "stream", module: "rabbit_stream_queue",
		queueArgs: []string{
			"x-max-length-bytes", "x-queue-type", "x-max-age",
			"x-stream-max-segment-size-bytes", "x-initial-cluster-size",
			"x-queue-leader-locator",
		},
		consumerArgs: []string{"x-stream-offset", "x-credit"},
		replicated:   true,
	}
	queueTypes = []*queueType{classicQueue, quorumQueue, streamQueue}
)

// isTypeArg reports whether some queue type knows key as a queue.declare
// argument (consumer false) or a basic.consume one (consumer true):
// rabbit_queue_type:arguments/1. Other x-arguments are accepted and
// ignored, by every type.
func isTypeArg(key string, consumer bool) bool {
	for _, t := range queueTypes {
		args := t.queueArgs
		if consumer {
			args = t.consumerArgs
		}
		if slices.Contains(args, key) {
			return true
		}
	}
	return false
}

// typeOf returns the type valid arguments declare: x-queue-type, classic
// by default.
func typeOf(args amqp.Table) *queueType {
	if t, ok := args.Get("x-queue-type"); ok {
		for _, qt := range queueTypes {
			if t == qt.name {
				return qt
			}
		}
	}
	return classicQueue
}

// checkTypeKeys is rabbit_amqqueue:check_arguments_key/4: an argument of
// another type is 406 "invalid arg 'x-delivery-limit' for queue 'q' in
// vhost '/' of queue type rabbit_classic_queue".
func (v *VHost) checkTypeKeys(queue string, t *queueType, args amqp.Table, consumer bool) error {
	own := t.queueArgs
	if consumer {
		own = t.consumerArgs
	}
	for _, f := range args {
		if isTypeArg(f.Name, consumer) && !slices.Contains(own, f.Name) {
			return precondition("invalid arg '%s' for %s of queue type %s", f.Name, v.rs("queue", queue), t.module)
		}
	}
	return nil
}

// checkReplicated is rabbit_queue_type_util's checks for quorum and stream
// queues, in rabbit_quorum_queue:declare/2's order.
func (v *VHost) checkReplicated(name string, durable, exclusive, autoDelete bool) error {
	var prop string
	switch {
	case autoDelete:
		prop = "auto-delete"
	case exclusive:
		prop = "exclusive-owner"
	case !durable:
		prop = "non-durable"
	default:
		return nil
	}
	return precondition("invalid property '%s' for %s", prop, v.rs("queue", name))
}
