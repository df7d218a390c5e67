package vhost

import "github.com/beatmq/beatmq/amqp"

// The error texts below are RabbitMQ 3.10.8's, from rabbit_channel,
// rabbit_amqqueue, rabbit_exchange and rabbit_misc; each helper names its
// source. rs formats a resource as rabbit_misc:rs/1 does.

func (v *VHost) rs(kind, name string) string {
	return kind + " '" + name + "' in vhost '" + v.name + "'"
}

// notFound is rabbit_amqqueue:not_found/1: "no queue 'q' in vhost '/'".
func (v *VHost) notFound(kind, name string) error {
	return amqp.NewError(amqp.NotFound, "no %s", v.rs(kind, name))
}

// precondition is rabbit_channel:precondition_failed/2.
func precondition(format string, args ...any) error {
	return amqp.NewError(amqp.PreconditionFailed, format, args...)
}

// defaultExchangeRefused is rabbit_channel:check_not_default_exchange/1.
func defaultExchangeRefused() error {
	return amqp.NewError(amqp.AccessRefused, "operation not permitted on the default exchange")
}

// reservedName is rabbit_channel:check_name/2.
func reservedName(kind, name string) error {
	return amqp.NewError(amqp.AccessRefused, "%s name '%s' contains reserved prefix 'amq.*'", kind, name)
}

// resourceLocked is rabbit_amqqueue:check_exclusive_access/3.
func (v *VHost) resourceLocked(queue string) error {
	return amqp.NewError(amqp.ResourceLocked,
		"cannot obtain exclusive access to locked %s. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.",
		v.rs("queue", queue))
}

// inequivalent is rabbit_misc:equivalence_fail/4; received and current are
// already formatted by formatArg or formatBool.
func (v *VHost) inequivalent(key, kind, name, received, current string) error {
	return precondition("inequivalent arg '%s' for %s: received %s but current is %s",
		key, v.rs(kind, name), received, current)
}
