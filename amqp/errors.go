package amqp

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// Error is an AMQP exception: what a connection.close or channel.close reports.
type Error struct {
	// Code is the reply code, one of the constants such as NotFound.
	Code uint16
	// Text is the full reply text with the code's name in front, as RabbitMQ
	// writes it: "NOT_FOUND - no queue 'q' in vhost '/'". It may be longer than
	// a reply-text can be; ReplyText returns the form that goes on the wire.
	Text string
	// ClassID and MethodID name the method that caused the error, or are 0.
	ClassID, MethodID uint16
}

// Error returns the reply text.
func (e *Error) Error() string {
	if e.Text == "" {
		return "amqp: exception " + strconv.Itoa(int(e.Code))
	}
	return e.Text
}

// Hard reports whether the error closes the whole connection: a hard-error
// code, or a code the protocol does not define. Soft errors close one channel.
// (An error raised on channel 0 closes the connection too; that is the
// broker's rule, see CloseMethod.)
func (e *Error) Hard() bool {
	return e.Code != ReplySuccess && !softReply(e.Code)
}

// ReplyText returns Text as it goes into a close: cut to 252 octets plus "..."
// when longer than 255, as RabbitMQ's rabbit_binary_generator does in
// amqp_exception_explanation/2.
func (e *Error) ReplyText() string {
	if len(e.Text) > 255 {
		return e.Text[:252] + "..."
	}
	return e.Text
}

// ConnectionClose returns the connection.close that reports e.
func (e *Error) ConnectionClose() *ConnectionClose {
	return &ConnectionClose{ReplyCode: e.Code, ReplyText: e.ReplyText(), ReplyClassID: e.ClassID, ReplyMethodID: e.MethodID}
}

// ChannelClose returns the channel.close that reports e.
func (e *Error) ChannelClose() *ChannelClose {
	return &ChannelClose{ReplyCode: e.Code, ReplyText: e.ReplyText(), ReplyClassID: e.ClassID, ReplyMethodID: e.MethodID}
}

// CloseMethod returns the close that reports e raised on channel ch, following
// RabbitMQ's rabbit_binary_generator:map_exception/3: a hard error, or any error
// on channel 0, closes the connection (send the result on channel 0); a soft
// error closes channel ch.
func (e *Error) CloseMethod(ch uint16) Method {
	if ch == 0 || e.Hard() {
		return e.ConnectionClose()
	}
	return e.ChannelClose()
}

// NewError returns an *Error with the given code whose text is the code's
// name, " - " and the formatted explanation, naming no method (class and
// method ids 0), for code that does not know which method it serves: its
// caller names the method with ForMethod.
//
//	NewError(NotFound, "no queue '%s' in vhost '%s'", q, vh)
//	  -> 404 "NOT_FOUND - no queue 'q' in vhost '/'", class 0, method 0
func NewError(code uint16, format string, args ...any) *Error {
	name := ReplyName(code)
	if name == "" {
		name = strconv.Itoa(int(code))
	}
	return &Error{Code: code, Text: name + " - " + fmt.Sprintf(format, args...)}
}

// Errorf is NewError with the class and method ids of m (0 when m is nil):
//
//	Errorf(NotFound, &QueueDeclare{}, "no queue '%s' in vhost '%s'", q, vh)
//	  -> 404 "NOT_FOUND - no queue 'q' in vhost '/'", class 50, method 10
func Errorf(code uint16, m Method, format string, args ...any) *Error {
	e := NewError(code, format, args...)
	if m != nil {
		e.ClassID, e.MethodID = m.ClassID(), m.MethodID()
	}
	return e
}

// ForMethod returns e naming method m: e itself when it already names a
// method (class or method id set) or m is nil, otherwise a copy with m's
// class and method ids. e is never changed, so it may be shared.
func (e *Error) ForMethod(m Method) *Error {
	if m == nil || e.ClassID != 0 || e.MethodID != 0 {
		return e
	}
	c := *e
	c.ClassID, c.MethodID = m.ClassID(), m.MethodID()
	return &c
}

// AsError returns err as an *Error: err itself when it is one (or wraps one),
// otherwise a 541 INTERNAL_ERROR carrying err's text.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return NewError(InternalError, "%v", err)
}

// decodeError is RabbitMQ's error for method arguments that do not decode
// (rabbit_misc:frame_error/2): 501 "FRAME_ERROR - cannot decode <<...>>" with
// the argument octets in Erlang's ~w form, against the method m (nil: 0/0).
// Past maxRendered octets the binary stops with "...".
func decodeError(m Method, args []byte) *Error {
	return Errorf(FrameError, m, "cannot decode %s", erlterm.AppendBinaryW(nil, args, maxRendered))
}

// unknownMethodError is returned for class and method ids the protocol does
// not define. RabbitMQ 3.10.8 crashes the reader there and drops the socket
// without a close; beatmq answers 540 NOT_IMPLEMENTED instead, naming the ids.
func unknownMethodError(classID, methodID uint16) *Error {
	return &Error{
		Code:     NotImplemented,
		Text:     fmt.Sprintf("NOT_IMPLEMENTED - unknown method class-id %d method-id %d", classID, methodID),
		ClassID:  classID,
		MethodID: methodID,
	}
}

// unknownFrameError is RabbitMQ's error for a frame whose payload is too short
// for its type (rabbit_reader, analyze_frame/2 returning error): 501
// "FRAME_ERROR - type 1, all octets = <<0,20>>: unknown_frame".
func unknownFrameError(frameType uint8, payload []byte) *Error {
	snippet := "all octets = " + erlterm.Binary(payload)
	if len(payload) > 16 {
		snippet = "first 16 octets = " + erlterm.Binary(payload[:16])
	}
	return &Error{
		Code: FrameError,
		Text: fmt.Sprintf("FRAME_ERROR - type %d, %s: unknown_frame", frameType, snippet),
	}
}

// maxRendered is how many octets decodeError renders. Every octet takes at
// least two characters, so 128 octets make a text longer than a reply-text can
// be, and ReplyText's cut gives exactly what RabbitMQ sends.
const maxRendered = 128
