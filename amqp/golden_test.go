package amqp

import (
	"bytes"
	"encoding/binary"
	"os"
	"reflect"
	"testing"
	"time"
)

type rawFrame struct {
	typ     uint8
	channel uint16
	payload []byte
}

// readSession splits a recorded client stream into its protocol header and frames.
func readSession(t *testing.T, name string) ([]byte, []rawFrame) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 {
		t.Fatal("no protocol header")
	}
	hdr, b := b[:8], b[8:]
	var fs []rawFrame
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("truncated frame: % x", b)
		}
		n := int(binary.BigEndian.Uint32(b[3:]))
		if len(b) < 8+n || b[7+n] != 0xCE {
			t.Fatalf("bad frame at % x", b[:8])
		}
		fs = append(fs, rawFrame{b[0], binary.BigEndian.Uint16(b[1:]), b[7 : 7+n]})
		b = b[8+n:]
	}
	return hdr, fs
}

// TestGoldenAmqp091Go decodes what amqp091-go v1.16.0 sent to a scripted
// server (internal/capture): the handshake, a channel, one publish whose
// headers hold every type amqp091-go writes ('L', which it cannot write, is
// covered by TestFieldValueWire), and the closes. Every method and the
// property list must decode to the expected values and encode back to the
// same octets.
func TestGoldenAmqp091Go(t *testing.T) {
	hdr, fs := readSession(t, "testdata/amqp091-go-session.bin")
	if string(hdr) != "AMQP\x00\x00\x09\x01" {
		t.Errorf("protocol header % x", hdr)
	}
	var methods []Method
	var header, body []byte
	for _, f := range fs {
		switch f.typ {
		case 1:
			m, err := ReadMethod(f.payload)
			if err != nil {
				t.Fatalf("channel %d: %v", f.channel, err)
			}
			if again := AppendMethod(nil, m); !bytes.Equal(again, f.payload) {
				t.Errorf("%s: re-encoded\n% x\nwant\n% x", m.Name(), again, f.payload)
			}
			methods = append(methods, m)
		case 2:
			header = f.payload
		case 3:
			body = f.payload
		default:
			t.Fatalf("frame type %d", f.typ)
		}
	}
	var names []string
	for _, m := range methods {
		names = append(names, m.Name())
	}
	wantNames := []string{"connection.start-ok", "connection.tune-ok", "connection.open", "channel.open",
		"basic.publish", "channel.close", "connection.close"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("methods %v, want %v", names, wantNames)
	}

	so := methods[0].(*ConnectionStartOk)
	if so.Mechanism != "PLAIN" || so.Response != "\x00guest\x00guest" || so.Locale != "en_US" {
		t.Errorf("start-ok %+v", so)
	}
	for name, want := range map[string]any{"product": "AMQP 0.9.1 Client", "version": "1.16.0", "platform": "golang"} {
		if v, _ := so.ClientProperties.Get(name); v != want {
			t.Errorf("client property %s = %#v", name, v)
		}
	}
	caps, _ := so.ClientProperties.Get("capabilities")
	for _, c := range []string{"publisher_confirms", "connection.blocked", "consumer_cancel_notify", "basic.nack"} {
		if v, _ := caps.(Table).Get(c); v != true {
			t.Errorf("capability %s = %#v", c, v)
		}
	}
	if got := *methods[1].(*ConnectionTuneOk); got != (ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 10}) {
		t.Errorf("tune-ok %+v", got)
	}
	if got := *methods[2].(*ConnectionOpen); got != (ConnectionOpen{VirtualHost: "/"}) {
		t.Errorf("open %+v", got)
	}
	if got := *methods[4].(*BasicPublish); got != (BasicPublish{Exchange: "amq.direct", RoutingKey: "capture.key", Mandatory: true}) {
		t.Errorf("publish %+v", got)
	}
	if got := *methods[6].(*ConnectionClose); got.ReplyCode != ReplySuccess || got.ReplyText != "kthxbai" {
		t.Errorf("close %+v", got)
	}

	cls, size, raw, err := SplitContentHeader(header)
	if err != nil || cls != ClassBasic || size != 16 || string(body) != "0123456789abcdef" {
		t.Fatalf("content: %d %d %q %v", cls, size, body, err)
	}
	if again := AppendContentHeader(nil, cls, size, raw); !bytes.Equal(again, header) {
		t.Error("content header re-encoded differently")
	}
	p, err := DecodeProperties(raw)
	if err != nil {
		t.Fatal(err)
	}
	if again := AppendProperties(nil, &p); !bytes.Equal(again, raw) {
		t.Errorf("properties re-encoded\n% x\nwant\n% x", again, raw)
	}
	headers := p.Headers
	p.Headers = nil
	want := Properties{Flags: 0xfff8, ContentType: "text/plain", ContentEncoding: "utf-8", DeliveryMode: 2, Priority: 5,
		CorrelationID: "corr-1", ReplyTo: "reply.q", Expiration: "60000", MessageID: "msg-1",
		Timestamp: time.Unix(1700000001, 0).UTC(), Type: "capture", UserID: "guest", AppID: "beatmq-capture"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("properties\n%#v\nwant\n%#v", p, want)
	}
	wantHeaders := map[string]any{
		"bool": true, "int8": int8(-8), "uint8": uint8(200), "int16": int16(-1600), "uint16": uint16(60000),
		"int32": int32(-320000), "uint32": uint32(4000000000), "int64": int64(-64000000000),
		"float32": float32(3.25), "float64": float64(-6.125), "decimal": Decimal{Scale: 2, Value: 31415},
		"string": "a longstr", "array": []any{int32(1), "two", true, nil},
		"timestamp": time.Unix(1700000000, 0).UTC(), "table": Table{{"nested", "yes"}},
		"bytes": []byte{0, 1, 2, 0xff}, "void": nil,
	}
	if len(headers) != len(wantHeaders) {
		t.Errorf("%d headers, want %d", len(headers), len(wantHeaders))
	}
	for name, w := range wantHeaders {
		if v, ok := headers.Get(name); !ok || !reflect.DeepEqual(v, w) {
			t.Errorf("header %s = %#v (%T), want %#v (%T)", name, v, v, w, w)
		}
	}
}
