// Package amqp holds the AMQP 0-9-1 classes and methods with RabbitMQ's
// extensions, field tables, content header properties, reply codes and the
// *Error a close reports.
//
// The method structs, their encoding and the reply-code constants are
// generated from spec/amqp091.def, a hand transcription of the specification's
// facts in beatmq's own compact format; edit that file and run
// `go generate ./amqp`. Everything else is written by hand.
//
// Decoding never panics and never allocates more than the input's own length
// implies: every declared length is checked against the octets that remain
// before anything is allocated.
package amqp

//go:generate go run ./internal/gen -in spec/amqp091.def -out .
