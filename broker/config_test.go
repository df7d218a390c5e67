package broker

import (
	"net"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	zero := Config{}
	def := DefaultConfig()
	for _, c := range []Config{zero, def} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		s := c.settings()
		if s.unit != time.Second || s.users["guest"] != "guest" || !s.loopback["guest"] || !s.vhosts["/"] {
			t.Fatalf("settings %+v", s)
		}
	}
	if s := (&Config{LoopbackUsers: []string{}}).settings(); len(s.loopback) != 0 {
		t.Fatalf("settings %+v", s)
	}
}

// limitFields are Config's numeric fields under the one rule: how to set one
// and read back what the broker uses, the default, and another value.
var limitFields = []struct {
	name          string
	set           func(*Config, float64)
	got           func(settings) float64
	def, explicit float64
}{
	{"Heartbeat", func(c *Config, v float64) { c.Heartbeat = int(v) },
		func(s settings) float64 { return float64(s.heartbeat) }, 60, 7},
	{"FrameMax", func(c *Config, v float64) { c.FrameMax = int(v) },
		func(s settings) float64 { return float64(s.frameMax) }, 131072, 8192},
	{"ChannelMax", func(c *Config, v float64) { c.ChannelMax = int(v) },
		func(s settings) float64 { return float64(s.channelMax) }, 2047, 9},
	{"HandshakeTimeout", func(c *Config, v float64) { c.HandshakeTimeout = time.Duration(v) },
		func(s settings) float64 { return float64(s.handshakeTimeout) }, float64(10 * time.Second), float64(300 * time.Millisecond)},
	{"MaxMessageSize", func(c *Config, v float64) { c.MaxMessageSize = int64(v) },
		func(s settings) float64 { return float64(s.maxMessageSize) }, 134217728, 1000},
	{"MemoryHighWatermark", func(c *Config, v float64) { c.MemoryHighWatermark = v },
		func(s settings) float64 { return s.memWatermark }, 0.4, 0.25},
}

// The rule: in Config, 0 is RabbitMQ's default, None (any negative value) is
// RabbitMQ's 0, anything else is itself; Explicit turns a value given as
// flags and brokertest options give it (0 = none) into that.
func TestConfigZeroValueRule(t *testing.T) {
	for _, f := range limitFields {
		for _, tc := range []struct {
			name      string
			set, want float64
		}{
			{"zero", 0, f.def},
			{"None", None, 0},
			{"negative", -2, 0},
			{"explicit", f.explicit, f.explicit},
			{"Explicit(0)", Explicit(0.0), 0},
			{"Explicit(explicit)", Explicit(f.explicit), f.explicit},
		} {
			var c Config
			f.set(&c, tc.set)
			if err := c.Validate(); err != nil {
				t.Errorf("%s %s: %v", f.name, tc.name, err)
			}
			if got := f.got(c.settings()); got != tc.want {
				t.Errorf("%s %s (%v): broker uses %v, want %v", f.name, tc.name, tc.set, got, tc.want)
			}
		}
		if d := DefaultConfig(); f.got(d.settings()) != f.def {
			t.Errorf("%s: DefaultConfig gives %v, want the default %v", f.name, f.got(d.settings()), f.def)
		}
	}
}

func TestExplicit(t *testing.T) {
	if Explicit(0) != None || Explicit(5) != 5 || Explicit(time.Duration(0)) != None ||
		Explicit(time.Second) != time.Second || Explicit(0.0) != None || Explicit(int64(3)) != 3 {
		t.Fatal("Explicit maps 0 to None and keeps anything else")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Heartbeat: 65536}, {FrameMax: 4095}, {ChannelMax: 65536}, {Addr: "nope"}, {MgmtAddr: "x"},
		{HeartbeatUnit: -1}, {Users: []User{{Name: ""}}}, {Users: []User{{Name: "a"}, {Name: "a"}}}, {VHosts: []string{""}},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

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
	s, err := New(Config{Users: []User{{Name: "guest", Password: "guest"}, {Name: "app", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
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
		r := s.authenticate(tc.mech, []byte(tc.resp), tc.peer)
		if r.refused != tc.refused || r.syntax != tc.syntax || r.msg != tc.msg {
			t.Errorf("%q from %v: %+v", tc.resp, tc.peer, r)
		}
	}
}

func TestErlangTerms(t *testing.T) {
	for got, want := range map[string]string{
		erlBinary([]byte("HTTP/1.1")):    `<<"HTTP/1.1">>`,
		erlBinary([]byte{22, 3, 1}):      `<<22,3,1>>`,
		erlBinary(nil):                   `<<>>`,
		erlAtom("connection.open"):       `'connection.open'`,
		erlAtom("none"):                  `none`,
		erlString(`a "b" \c`):            `"a \"b\" \\c"`,
		methodAtom("connection.tune-ok"): `connection.tune_ok`,
		inetError(nil):                   `closed`,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestCloseReasonNames(t *testing.T) {
	for r := ReasonNone; r <= ReasonHeartbeatSendError; r++ {
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
