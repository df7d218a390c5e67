package amqp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorf(t *testing.T) {
	e := Errorf(NotFound, &QueueDeclare{}, "no queue '%s' in vhost '%s'", "q", "/")
	if e.Code != 404 || e.Text != "NOT_FOUND - no queue 'q' in vhost '/'" || e.ClassID != 50 || e.MethodID != 10 {
		t.Errorf("%+v", e)
	}
	if e.Error() != e.Text || e.Hard() {
		t.Errorf("Error() %q, Hard() %v", e.Error(), e.Hard())
	}
	e = Errorf(UnexpectedFrame, nil, "type 8, all octets = <<>>")
	if e.Text != "UNEXPECTED_FRAME - type 8, all octets = <<>>" || e.ClassID != 0 || e.MethodID != 0 || !e.Hard() {
		t.Errorf("%+v", e)
	}
	if e := Errorf(999, nil, "odd"); e.Text != "999 - odd" || !e.Hard() {
		t.Errorf("%+v", e)
	}
	if (&Error{Code: 404}).Error() == "" {
		t.Error("empty Error()")
	}
}

// NewError names no method; ForMethod names one once, on a copy.
func TestNewErrorForMethod(t *testing.T) {
	e := NewError(PreconditionFailed, "unknown delivery tag %d", 7)
	if *e != (Error{Code: 406, Text: "PRECONDITION_FAILED - unknown delivery tag 7"}) {
		t.Errorf("%+v", e)
	}
	got := e.ForMethod(&BasicAck{})
	if got == e || got.ClassID != 60 || got.MethodID != 80 || got.Code != e.Code || got.Text != e.Text {
		t.Errorf("ForMethod: %+v", got)
	}
	if e.ClassID != 0 || e.MethodID != 0 {
		t.Errorf("ForMethod changed its receiver: %+v", e)
	}
	if again := got.ForMethod(&QueueDeclare{}); again != got {
		t.Errorf("ForMethod renamed a method: %+v", again)
	}
	if same := e.ForMethod(nil); same != e {
		t.Errorf("ForMethod(nil): %+v", same)
	}
}

func TestReplyCodes(t *testing.T) {
	cases := []struct {
		code uint16
		name string
		hard bool
	}{
		{ReplySuccess, "REPLY_SUCCESS", false},
		{ContentTooLarge, "CONTENT_TOO_LARGE", false}, {NoRoute, "NO_ROUTE", false},
		{NoConsumers, "NO_CONSUMERS", false}, {ConnectionForced, "CONNECTION_FORCED", true},
		{InvalidPath, "INVALID_PATH", true}, {AccessRefused, "ACCESS_REFUSED", false},
		{NotFound, "NOT_FOUND", false}, {ResourceLocked, "RESOURCE_LOCKED", false},
		{PreconditionFailed, "PRECONDITION_FAILED", false}, {FrameError, "FRAME_ERROR", true},
		{SyntaxError, "SYNTAX_ERROR", true}, {CommandInvalid, "COMMAND_INVALID", true},
		{ChannelError, "CHANNEL_ERROR", true}, {UnexpectedFrame, "UNEXPECTED_FRAME", true},
		{ResourceError, "RESOURCE_ERROR", true}, {NotAllowed, "NOT_ALLOWED", true},
		{NotImplemented, "NOT_IMPLEMENTED", true}, {InternalError, "INTERNAL_ERROR", true},
	}
	want := []uint16{200, 311, 312, 313, 320, 402, 403, 404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540, 541}
	for i, c := range cases {
		if c.code != want[i] {
			t.Errorf("%s = %d, want %d", c.name, c.code, want[i])
		}
		if ReplyName(c.code) != c.name || (&Error{Code: c.code}).Hard() != c.hard {
			t.Errorf("%d: name %q hard %v", c.code, ReplyName(c.code), (&Error{Code: c.code}).Hard())
		}
	}
	if ReplyName(1) != "" {
		t.Error("ReplyName(1) not empty")
	}
}

func TestReplyTextTruncation(t *testing.T) {
	e := Errorf(PreconditionFailed, nil, "%s", strings.Repeat("x", 240))
	if len(e.Text) != 262 {
		t.Fatalf("len %d", len(e.Text))
	}
	rt := e.ReplyText()
	if len(rt) != 255 || rt != e.Text[:252]+"..." {
		t.Errorf("%q", rt)
	}
	e = Errorf(PreconditionFailed, nil, "%s", strings.Repeat("x", 255-len("PRECONDITION_FAILED - ")))
	if e.ReplyText() != e.Text {
		t.Error("text of exactly 255 octets was cut")
	}
}

func TestCloseMethod(t *testing.T) {
	soft := Errorf(NotFound, &BasicConsume{}, "no queue 'q' in vhost '/'")
	hard := Errorf(FrameError, &BasicPublish{}, "cannot decode <<1>>")
	want := &ChannelClose{ReplyCode: 404, ReplyText: soft.Text, ReplyClassID: 60, ReplyMethodID: 20}
	if got := soft.CloseMethod(1); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("soft on channel 1: %#v", got)
	}
	if got, ok := soft.CloseMethod(0).(*ConnectionClose); !ok || got.ReplyCode != 404 {
		t.Errorf("soft on channel 0: %#v", soft.CloseMethod(0))
	}
	if got, ok := hard.CloseMethod(3).(*ConnectionClose); !ok || *got != (ConnectionClose{501, hard.Text, 60, 40}) {
		t.Errorf("hard: %#v", hard.CloseMethod(3))
	}
}

func TestAsError(t *testing.T) {
	e := Errorf(NotAllowed, nil, "x")
	if AsError(fmt.Errorf("wrapped: %w", e)) != e {
		t.Error("wrapped *Error not found")
	}
	if got := AsError(errors.New("boom")); got.Code != InternalError || got.Text != "INTERNAL_ERROR - boom" {
		t.Errorf("%+v", got)
	}
}

func TestUnknownFrameError(t *testing.T) {
	// ~p and ~w formatting themselves are erlterm's, tested there.
	// A payload over 16 octets is shown by its first 16, as payload_snippet/1.
	e := unknownFrameError(1, []byte("0123456789abcdefXYZ"))
	if e.Text != `FRAME_ERROR - type 1, first 16 octets = <<"0123456789abcdef">>: unknown_frame` {
		t.Errorf("%s", e.Text)
	}
}
