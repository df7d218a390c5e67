package amqp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func fullProperties() Properties {
	return Properties{
		ContentType:     "text/plain",
		ContentEncoding: "gzip",
		Headers:         sampleTable(),
		DeliveryMode:    2,
		Priority:        9,
		CorrelationID:   "corr",
		ReplyTo:         "amq.rabbitmq.reply-to",
		Expiration:      "60000",
		MessageID:       "id-1",
		Timestamp:       time.Unix(1700000000, 0).UTC(),
		Type:            "kind",
		UserID:          "guest",
		AppID:           "app",
		ClusterID:       "cluster",
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	p := fullProperties()
	b := AppendProperties(nil, &p)
	if f := uint16(b[0])<<8 | uint16(b[1]); f != 0xfffc {
		t.Errorf("flags %#04x, want 0xfffc", f)
	}
	got, err := DecodeProperties(b)
	if err != nil {
		t.Fatal(err)
	}
	p.Flags = 0xfffc
	if !reflect.DeepEqual(got, p) {
		t.Errorf("decoded\n%#v\nwant\n%#v", got, p)
	}
	if again := AppendProperties(nil, &got); !bytes.Equal(again, b) {
		t.Error("re-encoding differs")
	}
}

// Each property alone, present with its zero value: the flag keeps it on the
// wire, and the low bits of the flags word survive.
func TestPropertiesPresenceIsExact(t *testing.T) {
	flags := []uint16{FlagContentType, FlagContentEncoding, FlagHeaders, FlagDeliveryMode, FlagPriority,
		FlagCorrelationID, FlagReplyTo, FlagExpiration, FlagMessageID, FlagTimestamp, FlagType,
		FlagUserID, FlagAppID, FlagClusterID}
	for _, f := range flags {
		for _, low := range []uint16{0, 1, 2, 3} {
			wire := []byte{byte((f | low) >> 8), byte(f | low)}
			switch f {
			case FlagHeaders:
				wire = append(wire, 0, 0, 0, 0)
			case FlagDeliveryMode, FlagPriority:
				wire = append(wire, 0)
			case FlagTimestamp:
				wire = append(wire, 0, 0, 0, 0, 0, 0, 0, 0)
			default:
				wire = append(wire, 0)
			}
			p, err := DecodeProperties(wire)
			if err != nil {
				t.Fatalf("% x: %v", wire, err)
			}
			if got := AppendProperties(nil, &p); !bytes.Equal(got, wire) {
				t.Errorf("% x came back as % x", wire, got)
			}
		}
	}
	// No flags at all.
	p, err := DecodeProperties([]byte{0, 0})
	if err != nil || !reflect.DeepEqual(p, Properties{}) {
		t.Errorf("empty: %#v, %v", p, err)
	}
	if got := AppendProperties(nil, &Properties{}); !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("zero Properties encode as % x", got)
	}
}

func TestPropertiesWire(t *testing.T) {
	p := Properties{ContentType: "a", DeliveryMode: 2, Timestamp: time.Unix(5, 0), AppID: "z"}
	want := []byte{0x90, 0x48, 1, 'a', 2, 0, 0, 0, 0, 0, 0, 0, 5, 1, 'z'}
	if got := AppendProperties(nil, &p); !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

func TestDecodePropertiesErrors(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0x80},
		{0x80, 0},                     // content-type missing
		{0x80, 0, 3, 'a'},             // content-type short
		{0, 0, 1},                     // trailing octet
		{0x20, 0, 0, 0, 0, 1},         // headers past the end
		{0x10, 0},                     // delivery-mode missing
		{0x00, 0x40, 0, 0, 0, 0},      // timestamp short
		{0x20, 0, 0, 0, 0, 2, 0, 'Z'}, // bad header tag
	} {
		_, err := DecodeProperties(b)
		var e *Error
		if !errors.As(err, &e) || e.Code != FrameError {
			t.Errorf("% x: %v", b, err)
		}
	}
}

// ValidProperties gives DecodeProperties's verdict, and its error, on valid
// lists, on every truncation of them and on lists broken inside the headers
// table at every level of nesting.
func TestValidProperties(t *testing.T) {
	full := fullProperties()
	nested := Properties{Headers: Table{
		{"a", []any{Table{{"b", []any{int32(1), "s"}}}, Table{}}},
		{"t", Table{{"u", Table{{"v", Decimal{1, 2}}}}}},
	}}
	var inputs [][]byte
	for _, p := range []*Properties{{}, &full, &nested, &benchProps, {ContentType: "text/plain"}} {
		raw := AppendProperties(nil, p)
		inputs = append(inputs, raw)
		for n := range len(raw) {
			inputs = append(inputs, raw[:n])
		}
		inputs = append(inputs, append(raw[:len(raw):len(raw)], 0))
	}
	inputs = append(inputs,
		[]byte{0x80, 0x01, 0x01, 'a'},    // continuation bit: ignored
		[]byte{0x00, 0x03},               // both low bits, nothing follows
		[]byte{0xff, 0xfc},               // all 14 flags, nothing follows
		[]byte{0x5a, 0x43, 67, 'x', 'y'}, // content-encoding of 67 octets, 2 left
		[]byte{0x20, 0, 0, 0, 0, 10, 1, 'k', 'F', 0, 0, 0, 3, 1, 'n', 'Z'}, // bad tag one level down
		[]byte{0x20, 0, 0, 0, 0, 10, 1, 'k', 'A', 0, 0, 0, 3, 'S', 0, 0},   // longstr size cut, in an array
		[]byte{0x20, 0, 0, 0, 0, 9, 1, 'k', 'A', 0, 0, 0, 2, 'A', 0},       // array size cut, in an array
		[]byte{0x20, 0, 0, 0, 0, 8, 1, 'k', 'F', 0, 0, 0, 1, 5},            // field name past the table
		[]byte{0x20, 0xff, 0xff, 0xff, 0xff, 0},                            // headers of 4 GiB
		[]byte{0x00, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // any timestamp
	)
	for _, b := range inputs {
		_, want := DecodeProperties(b)
		got := ValidProperties(b)
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Errorf("% x: ValidProperties %v, DecodeProperties %v", b, got, want)
		}
	}
}

func TestContentHeader(t *testing.T) {
	p := fullProperties()
	raw := AppendProperties(nil, &p)
	h := AppendContentHeader(nil, ClassBasic, 1<<40+5, raw)
	if !bytes.Equal(h[:12], []byte{0, 60, 0, 0, 0, 0, 1, 0, 0, 0, 0, 5}) {
		t.Errorf("header starts % x", h[:12])
	}
	cls, size, props, err := SplitContentHeader(h)
	if err != nil || cls != ClassBasic || size != 1<<40+5 || !bytes.Equal(props, raw) {
		t.Errorf("split: %d %d %v", cls, size, err)
	}
	// A property list of length 0 is RabbitMQ's business later, not the split's.
	if _, _, props, err := SplitContentHeader(make([]byte, 12)); err != nil || len(props) != 0 {
		t.Errorf("12 octets: %v", err)
	}
	_, _, _, err = SplitContentHeader([]byte{0, 60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	if err != ErrContentWeight {
		t.Errorf("weight 1: %v", err)
	}
	_, _, _, err = SplitContentHeader([]byte{0, 60, 0})
	if e := AsError(err); e.Code != FrameError || e.Text != "FRAME_ERROR - type 2, all octets = <<0,60,0>>: unknown_frame" {
		t.Errorf("short header: %+v", e)
	}
}
