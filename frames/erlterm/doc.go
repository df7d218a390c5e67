// Package erlterm writes Erlang terms as RabbitMQ 3.10.8 (Erlang/OTP 25) prints
// them in its reply texts and log lines, so that beatmq's texts match RabbitMQ's
// byte for byte: binaries, strings, atoms, floats, tuples and lists, with the
// line breaking of ~p (io_lib_pretty) where RabbitMQ's texts reach it.
//
// Every function works on plain Go values (byte slices, strings, float64, and
// the text of already formatted elements), so that every layer of beatmq can
// use it: the package imports nothing from beatmq. Callers that hold richer
// values (an AMQP field table, say) walk them and call these primitives.
//
// Columns are 1-based, as io_lib_pretty counts them; column 0 means "on a line
// of its own with room to spare": never broken.
package erlterm
