package broker

import (
	"slices"
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
		if s.conn.Unit != time.Second || !s.conn.Loopback["guest"] || !s.vhosts["/"] {
			t.Fatalf("settings %+v", s)
		}
	}
	if s := (&Config{LoopbackUsers: []string{}}).settings(); len(s.conn.Loopback) != 0 {
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
		func(s settings) float64 { return float64(s.conn.HandshakeTimeout) }, float64(10 * time.Second), float64(300 * time.Millisecond)},
	{"MaxMessageSize", func(c *Config, v float64) { c.MaxMessageSize = int64(v) },
		func(s settings) float64 { return float64(s.conn.MaxMessageSize) }, 134217728, 1000},
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
		{Heartbeat: 65536}, {FrameMax: 4095}, {ChannelMax: 65536}, {Addr: "nope"}, {MgmtAddr: "x"}, {PrometheusAddr: "y"},
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

// AuthMechanisms lists only the mechanisms beatmq implements, each once; the
// error names the one at fault. nil and empty mean RabbitMQ's default.
func TestConfigAuthMechanisms(t *testing.T) {
	for _, tc := range []struct {
		mechanisms []string
		err        string // "": accepted
	}{
		{nil, ""},
		{[]string{}, ""},
		{[]string{"EXTERNAL"}, ""},
		{[]string{"AMQPLAIN", "EXTERNAL", "PLAIN"}, ""},
		{[]string{"PLAIN", "SCRAM-SHA-1"}, `AuthMechanisms: unknown mechanism "SCRAM-SHA-1" (want PLAIN, AMQPLAIN or EXTERNAL)`},
		{[]string{"plain"}, `AuthMechanisms: unknown mechanism "plain" (want PLAIN, AMQPLAIN or EXTERNAL)`},
		{[]string{"RABBIT-CR-DEMO"}, `AuthMechanisms: unknown mechanism "RABBIT-CR-DEMO" (want PLAIN, AMQPLAIN or EXTERNAL)`},
		{[]string{"PLAIN", "AMQPLAIN", "PLAIN"}, `AuthMechanisms: "PLAIN" listed twice`},
	} {
		c := Config{AuthMechanisms: tc.mechanisms}
		err := c.Validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.mechanisms, err)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%q: error %v, want %s", tc.mechanisms, err, tc.err)
		}
	}
	if s := (&Config{}).settings(); s.conn.AuthMechanisms != nil {
		t.Errorf("Config{} gives %q, want nil (the engine's default)", s.conn.AuthMechanisms)
	}
	if d := DefaultConfig(); !slices.Equal(d.AuthMechanisms, []string{"PLAIN", "AMQPLAIN"}) {
		t.Errorf("DefaultConfig: %q", d.AuthMechanisms)
	}
}
