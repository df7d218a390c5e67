package frames

import (
	"strconv"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// Reply codes of the frame errors (AMQP 0-9-1 constants frame-error and
// unexpected-frame). Both are hard errors: the broker answers with connection.close.
const (
	codeFrameError      = 501
	codeUnexpectedFrame = 505
)

// maxReplyText is where rabbit_binary_generator:amqp_exception_explanation/2 cuts a
// reply text (to 252 octets plus "...").
const maxReplyText = 255

// Error is a frame the broker must answer with connection.close, carrying what the
// answer needs. ReadFrame returns it as an error value of type *Error.
//
// A fatal error (oversized frame, wrong frame-end octet) means the byte stream can no
// longer be trusted: RabbitMQ sends connection.close, waits 3 s and closes the socket
// whatever the client does (rabbit_reader:fatal_frame_error/5). After a non-fatal
// error the stream is intact and the connection closes the usual way.
type Error struct {
	// Code is 501 (FRAME_ERROR) or 505 (UNEXPECTED_FRAME).
	Code uint16
	// FrameType is the type octet of the offending frame.
	FrameType uint8
	// Channel is the channel of the offending frame; RabbitMQ logs it.
	Channel uint16
	// Explanation is RabbitMQ's explanation, e.g.
	// "type 8, all octets = <<>>: unknown_frame". Like RabbitMQ's, it is built with
	// Erlang's ~p and may contain a line break when the payload snippet is long.
	Explanation string
	// Fatal reports a frame after which the stream cannot be read any further.
	Fatal bool
}

// Error returns the reply text prefixed with the package name.
func (e *Error) Error() string { return "frames: " + e.ReplyText() }

// ReplyText returns the reply-text of the connection.close that answers e, e.g.
// "FRAME_ERROR - type 8, all octets = <<>>: unknown_frame" or
// "UNEXPECTED_FRAME - type 8, all octets = <<>>", cut to 255 octets as
// rabbit_binary_generator:amqp_exception_explanation/2 does.
func (e *Error) ReplyText() string {
	var name string
	switch e.Code {
	case codeFrameError:
		name = "FRAME_ERROR"
	case codeUnexpectedFrame:
		name = "UNEXPECTED_FRAME"
	default:
		name = strconv.Itoa(int(e.Code))
	}
	t := name + " - " + e.Explanation
	if len(t) > maxReplyText {
		t = t[:maxReplyText-3] + "..."
	}
	return t
}

// LogName returns the error's name as RabbitMQ logs it ("operation none caused a
// connection exception frame_error: ..."): "frame_error" or "unexpected_frame".
func (e *Error) LogName() string {
	switch e.Code {
	case codeFrameError:
		return "frame_error"
	case codeUnexpectedFrame:
		return "unexpected_frame"
	}
	return strconv.Itoa(int(e.Code))
}

// UnexpectedFrame returns the non-fatal 505 error RabbitMQ raises for a frame that is
// well formed but not expected where it arrived (rabbit_reader:unexpected_frame/4),
// e.g. any frame on a channel other than 0 before the connection is open:
// "UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>".
func UnexpectedFrame(f Frame) *Error {
	return &Error{
		Code:        codeUnexpectedFrame,
		FrameType:   f.Type,
		Channel:     f.Channel,
		Explanation: explanation(f.Type, f.Payload, ""),
	}
}

// frameError builds a 501 error (rabbit_reader:frame_error/5) whose explanation ends
// with reason: an atom when no elems are given, else the tuple {reason,elems...}.
func frameError(typ uint8, ch uint16, payload []byte, fatal bool, reason string, elems ...string) *Error {
	return &Error{
		Code:        codeFrameError,
		FrameType:   typ,
		Channel:     ch,
		Explanation: explanation(typ, payload, reason, elems...),
		Fatal:       fatal,
	}
}

// explanation formats RabbitMQ's "type ~p, ~s octets = ~p: ~p" (or, with an empty
// reason, "type ~p, ~s octets = ~p"), with the payload snippet of
// rabbit_reader:payload_snippet/1: the whole payload up to 16 octets, else the first 16.
func explanation(typ uint8, payload []byte, reason string, elems ...string) string {
	b := make([]byte, 0, 96)
	b = append(b, "type "...)
	b = strconv.AppendUint(b, uint64(typ), 10)
	if len(payload) <= 16 {
		b = append(b, ", all octets = "...)
	} else {
		payload = payload[:16]
		b = append(b, ", first 16 octets = "...)
	}
	b = erlterm.AppendBinary(b, payload, erlterm.Column(b))
	if reason == "" {
		return string(b)
	}
	b = append(b, ": "...)
	if len(elems) == 0 {
		b = append(b, reason...)
	} else {
		b = erlterm.AppendTagTuple(b, erlterm.Column(b), reason, elems...)
	}
	return string(b)
}
