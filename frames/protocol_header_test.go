package frames

import (
	"errors"
	"testing"
)

func TestParseProtocolHeader(t *testing.T) {
	tests := []struct {
		in           string
		major, minor uint8
		reason       string // empty: accepted
	}{
		{"AMQP\x00\x00\x09\x01", 0, 9, ""},
		{"AMQP\x01\x01\x00\x09", 0, 9, ""},
		{"AMQP\x01\x01\x08\x00", 8, 0, ""},
		{"AMQP\x01\x01\x09\x01", 8, 0, ""},
		{"AMQP\x01\x01\x00\x0a", 0, 0, "{bad_version,{1,1,0,10}}"},
		{"AMQP\x00\x00\x09\x02", 0, 0, "{bad_version,{0,0,9,2}}"},
		{"AMQP\x00\x00\x00\x00", 0, 0, "{bad_version,{0,0,0,0}}"},
		{"AMQP\xff\xff\xff\xff", 0, 0, "{bad_version,{255,255,255,255}}"},
		{"AMQP\x00\x01\x00\x00", 0, 0, "amqp1_0_plugin_not_enabled"},
		{"AMQP\x03\x01\x00\x00", 0, 0, "amqp1_0_plugin_not_enabled"},
		{"AMQP\x05\x01\x00\x00", 0, 0, "amqp1_0_plugin_not_enabled"},
		{"HTTP/1.1", 0, 0, `{bad_header,<<"HTTP/1.1">>}`},
		{"GET / HT", 0, 0, `{bad_header,<<"GET / HT">>}`},
		{"\x16\x03\x01\x00\xa5\x01\x00\x00", 0, 0, "{bad_header,<<22,3,1,0,165,1,0,0>>}"},
		{"\x08\x00\x00\x00\x00\x00\x00\xce", 0, 0, "{bad_header,<<8,0,0,0,0,0,0,206>>}"},
		{"amqp\x00\x00\x09\x01", 0, 0, "{bad_header,<<97,109,113,112,0,0,9,1>>}"},
		{"AMQ\x00\x00\x00\x09\x01", 0, 0, "{bad_header,<<65,77,81,0,0,0,9,1>>}"},
		{"\x00\x00\x00\x00\x00\x00\x00\x00", 0, 0, "{bad_header,<<0,0,0,0,0,0,0,0>>}"},
	}
	for _, tt := range tests {
		major, minor, err := ParseProtocolHeader([8]byte([]byte(tt.in)))
		if tt.reason == "" {
			if err != nil || major != tt.major || minor != tt.minor {
				t.Errorf("%q: %d-%d %v, want %d-%d accepted", tt.in, major, minor, err, tt.major, tt.minor)
			}
			continue
		}
		var he *HeaderError
		if !errors.As(err, &he) {
			t.Errorf("%q: err %v, want *HeaderError", tt.in, err)
			continue
		}
		if he.Reason() != tt.reason || he.Header != [8]byte([]byte(tt.in)) {
			t.Errorf("%q: reason %q header %q, want %q", tt.in, he.Reason(), he.Header, tt.reason)
		}
		if want := "frames: protocol header refused: " + tt.reason; he.Error() != want {
			t.Errorf("%q: Error() = %q, want %q", tt.in, he.Error(), want)
		}
	}
	if _, _, err := ParseProtocolHeader(ProtocolHeader); err != nil {
		t.Fatalf("ProtocolHeader refused: %v", err)
	}
}
