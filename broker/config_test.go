package broker

import (
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
		if s.heartbeat != 60 || s.frameMax != 131072 || s.channelMax != 2047 || s.conn.HandshakeTimeout != 10*time.Second ||
			s.conn.Unit != time.Second || s.conn.Users["guest"] != "guest" || !s.conn.Loopback["guest"] || !s.vhosts["/"] {
			t.Fatalf("settings %+v", s)
		}
	}
	none := Config{Heartbeat: -1, FrameMax: -1, ChannelMax: -1, HandshakeTimeout: -1, LoopbackUsers: []string{}}
	s := none.settings()
	if s.heartbeat != 0 || s.frameMax != 0 || s.channelMax != 0 || s.conn.HandshakeTimeout != 0 || len(s.conn.Loopback) != 0 {
		t.Fatalf("settings %+v", s)
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
