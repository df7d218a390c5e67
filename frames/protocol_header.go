package frames

import (
	"strconv"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// Reasons ParseProtocolHeader refuses a header for.
const (
	headerBadHeader = iota + 1
	headerBadVersion
	headerAMQP10
)

// HeaderError is a protocol header the broker refuses. RabbitMQ answers every refused
// header with ProtocolHeader and closes the socket without further ado
// (rabbit_reader:refuse_connection/2).
type HeaderError struct {
	// Header is the refused header as received.
	Header [8]byte
	kind   int
}

// Error describes the refusal.
func (e *HeaderError) Error() string {
	return "frames: protocol header refused: " + e.Reason()
}

// Reason returns the Erlang term RabbitMQ logs on the second line of
// "closing AMQP connection <pid> (A -> B):": {bad_header,<<"HTTP/1.1">>} when the
// header does not start with "AMQP", amqp1_0_plugin_not_enabled for AMQP 1.0 headers,
// and {bad_version,{1,1,0,10}} for any other version.
func (e *HeaderError) Reason() string {
	h := e.Header
	switch e.kind {
	case headerAMQP10:
		return "amqp1_0_plugin_not_enabled"
	case headerBadVersion:
		var v [4]string
		for i, c := range h[4:] {
			v[i] = strconv.Itoa(int(c))
		}
		return erlterm.Tuple("bad_version", erlterm.Tuple(v[:]...))
	}
	// Printed at column 1 after the log line break: 48 columns at most, never broken.
	return erlterm.Tuple("bad_header", erlterm.Binary(h[:]))
}

// ParseProtocolHeader checks the 8 octets a client sends first, as
// rabbit_reader:handshake/2 does, and returns the version the broker announces in
// connection.start: "AMQP" 0 0 9 1 (AMQP 0-9-1) and "AMQP" 1 1 0 9 (0-9) give 0-9;
// "AMQP" 1 1 8 0 and "AMQP" 1 1 9 1 (0-8) give 8-0. Any other header yields a
// *HeaderError; an "AMQP" x 1 0 0 header (AMQP 1.0) is refused because beatmq, like
// RabbitMQ without its plugin, does not speak AMQP 1.0.
func ParseProtocolHeader(b [8]byte) (major, minor uint8, err error) {
	if b[0] != 'A' || b[1] != 'M' || b[2] != 'Q' || b[3] != 'P' {
		return 0, 0, &HeaderError{Header: b, kind: headerBadHeader}
	}
	switch v := [4]byte(b[4:]); {
	case v == [4]byte{0, 0, 9, 1}, v == [4]byte{1, 1, 0, 9}:
		return 0, 9, nil
	case v == [4]byte{1, 1, 8, 0}, v == [4]byte{1, 1, 9, 1}:
		return 8, 0, nil
	case v[1] == 1 && v[2] == 0 && v[3] == 0:
		return 0, 0, &HeaderError{Header: b, kind: headerAMQP10}
	}
	return 0, 0, &HeaderError{Header: b, kind: headerBadVersion}
}
