package engine

import (
	"errors"
	"log/slog"
	"net"
	"testing"
)

func TestParsePlain(t *testing.T) {
	for _, tc := range []struct {
		in         string
		user, pass string
		ok         bool
	}{
		{"\x00guest\x00guest", "guest", "guest", true},
		{"\x00guest\x00", "guest", "", true},
		{"authz\x00guest\x00guest", "", "", false},
		{"\x00guest", "", "", false},
		{"\x00a\x00b\x00c", "", "", false},
		{"", "", "", false},
	} {
		u, p, ok := parsePlain([]byte(tc.in))
		if ok != tc.ok || u != tc.user || p != tc.pass {
			t.Errorf("%q: %q %q %v", tc.in, u, p, ok)
		}
	}
}

func TestParseAMQPlain(t *testing.T) {
	resp := []byte("\x05LOGINS\x00\x00\x00\x05guest\x08PASSWORDS\x00\x00\x00\x06secret")
	if u, p, ok := parseAMQPlain(resp); !ok || u != "guest" || p != "secret" {
		t.Fatalf("%q %q %v", u, p, ok)
	}
	for _, bad := range []string{"\x05LOGINS\x00\x00\x00\x05guest", "\x05LOGINS\x00\x00\x00\x09guest", "\x05LOGINI\x00\x00\x00\x01", "\x05LOG"} {
		if _, _, ok := parseAMQPlain([]byte(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	set := &Settings{Loopback: map[string]bool{"guest": true}}
	users := map[string]string{"guest": "guest", "app": "pw"}
	login := func(u, p string) bool { want, ok := users[u]; return ok && want == p }
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}
	cases := []struct {
		mech, resp string
		peer       net.Addr
		refused    bool
		syntax     bool
		msg        string
	}{
		{"PLAIN", "\x00guest\x00guest", local, false, false, ""},
		{"PLAIN", "\x00guest\x00guest", remote, true, false, "user 'guest' can only connect via localhost"},
		{"PLAIN", "\x00app\x00pw", remote, false, false, ""},
		{"PLAIN", "\x00app\x00bad", local, true, false, "user 'app' - invalid credentials"},
		{"PLAIN", "\x00nobody\x00x", local, true, false, "user 'nobody' - invalid credentials"},
		{"PLAIN", "garbage", local, false, true, `response <<"garbage">> invalid`},
	}
	for _, tc := range cases {
		r := authenticate(set, login, tc.mech, []byte(tc.resp), tc.peer)
		if r.refused != tc.refused || r.syntax != tc.syntax || r.msg != tc.msg {
			t.Errorf("%q from %v: %+v", tc.resp, tc.peer, r)
		}
	}
}

// The Erlang term formatters themselves are frames/erlterm's, tested there.
func TestInetError(t *testing.T) {
	for got, want := range map[string]string{
		inetError(nil):                    `closed`,
		inetError(errors.New(`a "b" \c`)): `"a \"b\" \\c"`,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestCloseReasonNames(t *testing.T) {
	for r := ReasonNone; r <= ReasonPeerUnreachable; r++ {
		if r.String() == "unknown" || r.String() == "" {
			t.Errorf("reason %d has no name", r)
		}
	}
	for s := StatePreInit; s <= StateTerminated; s++ {
		if s.String() == "unknown" {
			t.Errorf("state %d has no name", s)
		}
	}
}

// A blocked connection whose peer's host stopped acknowledging ends with its
// own reason and an error in RabbitMQ's two-line layout, the timeout named as
// in the missed-heartbeats line.
func TestPeerUnreachableEnding(t *testing.T) {
	p1, p2 := net.Pipe()
	defer p2.Close()
	c := newConn(nil, &Settings{Log: slog.New(slog.DiscardHandler)}, p1)
	c.tuned.timeoutSec = 2
	c.logName = "10.0.0.2:4000 -> 10.0.0.1:5672 - pub"
	c.onPeerUnreachable()
	c.onHeartbeatSendError(errors.New("later")) // the first abort wins
	e := c.classifyReadError(net.ErrClosed)
	want := "closing AMQP connection " + c.id + " (10.0.0.2:4000 -> 10.0.0.1:5672 - pub):\n" +
		"peer unreachable while blocked: heartbeats sent, none acknowledged by its TCP stack, timeout: 2s"
	if e.reason != ReasonPeerUnreachable || e.level != slog.LevelError || e.msg != want {
		t.Errorf("ending %v %v %q, want peer_unreachable, error, %q", e.reason, e.level, e.msg, want)
	}
	if _, err := p2.Write([]byte{0}); err == nil {
		t.Error("the socket is still open")
	}
}
