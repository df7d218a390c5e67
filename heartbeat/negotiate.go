package heartbeat

import (
	"strconv"

	"golang.org/x/exp/constraints"
)

// Negotiate checks a value the client sent in connection.tune-ok against the
// server's proposal, as RabbitMQ's rabbit_reader:validate_negotiated_integer_value/3
// does, and returns the value to use.
//
// The rules, in RabbitMQ's order:
//  1. a non-zero client value below minimum fails ("... is lower than the
//     minimum allowed value (4096)");
//  2. otherwise, when server is non-zero, a client value of 0 ("no limit") or
//     one above server fails ("... is higher than the maximum allowed value
//     (131072)");
//  3. otherwise the client value is accepted verbatim: there is no min() step,
//     a client asking for less than the server proposed gets exactly that.
//
// RabbitMQ validates frame_max with minimum 4096 (FRAME_MIN_SIZE in 3.10.8)
// and channel_max with minimum 1 (CHANNEL_MIN). Server 0 means the server has
// no limit, so any value at or above minimum is accepted.
//
// The heartbeat goes through the same function with server 0 and minimum 0:
// both rules are then vacuous and every value 0..65535 is accepted verbatim,
// which is what RabbitMQ does (handle_method0(tune_ok) never validates the
// heartbeat; it uses the client's value even above its own proposal of 60, and
// 0 disables heartbeats in both directions).
//
// name is the field name RabbitMQ prints: "frame_max", "channel_max" or
// "heartbeat". On failure the result is 0 and the error is a
// *[NegotiationError].
func Negotiate[T constraints.Unsigned](name string, server, client, minimum T) (T, error) {
	// rabbit_reader:validate_negotiated_integer_value/3
	switch {
	case client != 0 && client < minimum:
		return 0, &NegotiationError{Field: name, Value: uint64(client), Limit: uint64(minimum)}
	case server != 0 && (client == 0 || client > server):
		return 0, &NegotiationError{Field: name, Value: uint64(client), Limit: uint64(server), AboveMaximum: true}
	}
	return client, nil
}

// NegotiationError is a tune-ok value RabbitMQ would refuse. Its Error text is
// RabbitMQ's explanation, for example
// "negotiated frame_max = 1024 is lower than the minimum allowed value (4096)".
//
// RabbitMQ raises it as not_allowed (530) attributed to connection.tune, so it
// is never sent to the client: the connection is logged as
// "failed to negotiate connection parameters: <text>" and closed after 3 s
// without connection.close (rabbit_reader:handle_exception/3, last clause).
type NegotiationError struct {
	Field        string // "frame_max", "channel_max", ...
	Value        uint64 // what the client sent
	Limit        uint64 // the minimum, or the server's maximum when AboveMaximum
	AboveMaximum bool   // false: Value < minimum; true: Value is 0 or > maximum
}

// Error returns RabbitMQ's text (rabbit_reader:fail_negotiation/4).
func (e *NegotiationError) Error() string {
	b := make([]byte, 0, 96)
	b = append(b, "negotiated "...)
	b = append(b, e.Field...)
	b = append(b, " = "...)
	b = strconv.AppendUint(b, e.Value, 10)
	// rabbit_reader:get_client_value_detail/2: only channel_max 0 gets a note.
	if e.Field == "channel_max" && e.Value == 0 {
		b = append(b, " (no limit)"...)
	}
	if e.AboveMaximum {
		b = append(b, " is higher than the maximum allowed value ("...)
	} else {
		b = append(b, " is lower than the minimum allowed value ("...)
	}
	b = strconv.AppendUint(b, e.Limit, 10)
	b = append(b, ')')
	return string(b)
}
