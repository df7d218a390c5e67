package amqp

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMethodRoundTrip(t *testing.T) {
	for _, m := range allMethods(t) {
		for _, odd := range []bool{false, true} {
			fill(t, m, odd)
			b := AppendMethod(nil, m)
			got, err := ReadMethod(b)
			if err != nil {
				t.Fatalf("%s: %v", m.Name(), err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("%s: decoded\n%#v\nwant\n%#v", m.Name(), got, m)
			}
			if again := AppendMethod(nil, got); !bytes.Equal(again, b) {
				t.Errorf("%s: re-encoding differs", m.Name())
			}
			var d Decoder
			got2, err := d.ReadMethod(b)
			if err != nil || !reflect.DeepEqual(got2, m) {
				t.Errorf("%s: Decoder gave %#v, %v", m.Name(), got2, err)
			}
		}
	}
}

func TestMethodIdentity(t *testing.T) {
	names := map[string]bool{}
	for _, m := range allMethods(t) {
		name := m.Name()
		if names[name] {
			t.Errorf("name %q twice", name)
		}
		names[name] = true
		if MethodName(m.ClassID(), m.MethodID()) != name {
			t.Errorf("MethodName(%d, %d) = %q, want %q", m.ClassID(), m.MethodID(), MethodName(m.ClassID(), m.MethodID()), name)
		}
		wantContent := map[string]bool{"basic.publish": true, "basic.return": true, "basic.deliver": true, "basic.get-ok": true}[name]
		if m.HasContent() != wantContent {
			t.Errorf("%s: HasContent() = %v", name, m.HasContent())
		}
		// RabbitMQ marks the requests synchronous, not their answers.
		wantSync := !strings.HasSuffix(name, "-ok") && !strings.HasSuffix(name, "-empty") && !map[string]bool{
			"connection.blocked": true, "connection.unblocked": true, "basic.publish": true,
			"basic.return": true, "basic.deliver": true, "basic.ack": true, "basic.reject": true,
			"basic.recover-async": true, "basic.nack": true,
		}[name]
		if m.Synchronous() != wantSync {
			t.Errorf("%s: Synchronous() = %v, want %v", name, m.Synchronous(), wantSync)
		}
	}
	if MethodName(99, 99) != "" {
		t.Error("MethodName(99, 99) is not empty")
	}
}

func TestIsResponse(t *testing.T) {
	cases := []struct {
		req, resp Method
		want      bool
	}{
		{&QueueDeclare{}, &QueueDeclareOk{}, true},
		{&BasicGet{}, &BasicGetOk{}, true},
		{&BasicGet{}, &BasicGetEmpty{}, true},
		{&ExchangeUnbind{}, &ExchangeUnbindOk{}, true},
		{&ConfirmSelect{}, &ConfirmSelectOk{}, true},
		{&TxSelect{}, &TxSelectOk{}, true},
		{&TxSelect{}, &ConfirmSelectOk{}, false},
		{&QueueDeclare{}, &QueueBindOk{}, false},
		{&BasicPublish{}, &BasicAck{}, false},
		{nil, &BasicAck{}, false},
	}
	for _, c := range cases {
		if got := IsResponse(c.req, c.resp); got != c.want {
			t.Errorf("IsResponse(%T, %T) = %v", c.req, c.resp, got)
		}
	}
}

// Wire layouts written out by hand from the spec, to catch a field order or a
// bit position that a round trip alone would not.
func TestMethodWireLayout(t *testing.T) {
	cases := []struct {
		m    Method
		want []byte
	}{
		{&ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 10},
			[]byte{0, 10, 0, 31, 0x07, 0xff, 0, 2, 0, 0, 0, 10}},
		{&ConnectionOpen{VirtualHost: "/", Reserved1: "", Reserved2: true},
			[]byte{0, 10, 0, 40, 1, '/', 0, 1}},
		{&ExchangeDeclare{Reserved1: 0, Exchange: "x", Type: "topic", Passive: false, Durable: true, AutoDelete: false, Internal: true, NoWait: true, Arguments: nil},
			[]byte{0, 40, 0, 10, 0, 0, 1, 'x', 5, 't', 'o', 'p', 'i', 'c', 0b11010, 0, 0, 0, 0}},
		{&QueueDeclare{Queue: "q", Exclusive: true, AutoDelete: true},
			[]byte{0, 50, 0, 10, 0, 0, 1, 'q', 0b01100, 0, 0, 0, 0}},
		{&BasicPublish{Exchange: "", RoutingKey: "rk", Mandatory: false, Immediate: true},
			[]byte{0, 60, 0, 40, 0, 0, 0, 2, 'r', 'k', 0b10}},
		{&BasicDeliver{ConsumerTag: "c", DeliveryTag: 7, Redelivered: true, Exchange: "e", RoutingKey: "r"},
			[]byte{0, 60, 0, 60, 1, 'c', 0, 0, 0, 0, 0, 0, 0, 7, 1, 1, 'e', 1, 'r'}},
		{&BasicNack{DeliveryTag: 1, Multiple: false, Requeue: true},
			[]byte{0, 60, 0, 120, 0, 0, 0, 0, 0, 0, 0, 1, 0b10}},
		{&BasicConsume{Queue: "q", ConsumerTag: "", NoLocal: true, NoAck: false, Exclusive: true, NoWait: false},
			[]byte{0, 60, 0, 20, 0, 0, 1, 'q', 0, 0b0101, 0, 0, 0, 0}},
		{&ConnectionClose{ReplyCode: 320, ReplyText: "x", ReplyClassID: 10, ReplyMethodID: 40},
			[]byte{0, 10, 0, 50, 0x01, 0x40, 1, 'x', 0, 10, 0, 40}},
		{&ConfirmSelect{NoWait: true}, []byte{0, 85, 0, 10, 1}},
		{&TxCommitOk{}, []byte{0, 90, 0, 21}},
		{&ConnectionBlocked{Reason: "low on memory"}, append([]byte{0, 10, 0, 60, 13}, "low on memory"...)},
		{&ConnectionUpdateSecret{NewSecret: "s", Reason: "r"}, []byte{0, 10, 0, 70, 0, 0, 0, 1, 's', 1, 'r'}},
		{&ChannelOpenOk{}, []byte{0, 20, 0, 11, 0, 0, 0, 0}},
		{&BasicGetEmpty{}, []byte{0, 60, 0, 72, 0}},
	}
	for _, c := range cases {
		if got := AppendMethod(nil, c.m); !bytes.Equal(got, c.want) {
			t.Errorf("%s: got % x, want % x", c.m.Name(), got, c.want)
		}
	}
}

func TestReadMethodErrors(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		code    uint16
		text    string
		cls, mt uint16
	}{
		// rabbitmq-observed / heartbeat-semantics (c) #14.
		{"channel.open with a short shortstr", []byte{0, 20, 0, 10, 5, 'a', 'b'}, FrameError,
			"FRAME_ERROR - cannot decode <<5,97,98>>", 20, 10},
		// (c) #11.
		{"payload shorter than ids", []byte{0, 20}, FrameError,
			"FRAME_ERROR - type 1, all octets = <<0,20>>: unknown_frame", 0, 0},
		{"empty payload", nil, FrameError,
			"FRAME_ERROR - type 1, all octets = <<>>: unknown_frame", 0, 0},
		{"unknown ids", []byte{0, 99, 0, 99}, NotImplemented,
			"NOT_IMPLEMENTED - unknown method class-id 99 method-id 99", 99, 99},
		{"access.request is not 0-9-1", []byte{0, 30, 0, 10, 0}, NotImplemented,
			"NOT_IMPLEMENTED - unknown method class-id 30 method-id 10", 30, 10},
		{"trailing octet", []byte{0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 9}, FrameError,
			"FRAME_ERROR - cannot decode <<0,0,0,0,0,0,0,1,0,9>>", 60, 80},
		{"missing bit octet", []byte{0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1}, FrameError,
			"FRAME_ERROR - cannot decode <<0,0,0,0,0,0,0,1>>", 60, 80},
		{"args for an argumentless method", []byte{0, 90, 0, 10, 1}, FrameError,
			"FRAME_ERROR - cannot decode <<1>>", 90, 10},
		{"table longer than the frame", []byte{0, 40, 0, 10, 0, 0, 1, 'x', 1, 'd', 0, 0, 0, 0, 9}, FrameError,
			"FRAME_ERROR - cannot decode <<0,0,1,120,1,100,0,0,0,0,9>>", 40, 10},
		{"bad field type", []byte{0, 40, 0, 10, 0, 0, 1, 'x', 1, 'd', 0, 0, 0, 0, 3, 1, 'k', 'Z'}, FrameError,
			"FRAME_ERROR - cannot decode <<0,0,1,120,1,100,0,0,0,0,3,1,107,90>>", 40, 10},
		{"longstr length past the end", []byte{0, 10, 0, 21, 0xff, 0xff, 0xff, 0xff}, FrameError,
			"FRAME_ERROR - cannot decode <<255,255,255,255>>", 10, 21},
	}
	for _, c := range cases {
		for _, read := range []func([]byte) (Method, error){ReadMethod, new(Decoder).ReadMethod} {
			m, err := read(c.payload)
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%s: got %v, %v; want *Error", c.name, m, err)
				continue
			}
			if m != nil || e.Code != c.code || e.Text != c.text || e.ClassID != c.cls || e.MethodID != c.mt {
				t.Errorf("%s: got %v, %+v", c.name, m, e)
			}
		}
	}
}

func TestReadMethodLongDecodeErrorText(t *testing.T) {
	// A huge undecodable payload renders only as much as a reply text can hold.
	p := append([]byte{0, 10, 0, 51}, make([]byte, 100000)...)
	_, err := ReadMethod(p)
	e := AsError(err)
	if e.Code != FrameError || len(e.Text) > 600 || !strings.HasPrefix(e.Text, "FRAME_ERROR - cannot decode <<0,0,0,") {
		t.Fatalf("got %d %q", e.Code, e.Text)
	}
	if rt := e.ReplyText(); len(rt) != 255 || !strings.HasSuffix(rt, "...") {
		t.Errorf("ReplyText %q", rt)
	}
}

// Every prefix of a valid method is either the method or an *Error, never a
// panic.
func TestReadMethodPrefixes(t *testing.T) {
	for _, m := range allMethods(t) {
		fill(t, m, false)
		b := AppendMethod(nil, m)
		for i := range b {
			if _, err := ReadMethod(b[:i]); err == nil {
				t.Errorf("%s: prefix of %d octets decoded", m.Name(), i)
			} else if _, ok := err.(*Error); !ok {
				t.Errorf("%s: %T", m.Name(), err)
			}
		}
	}
}

func TestReadMethodDoesNotAlias(t *testing.T) {
	b := AppendMethod(nil, &BasicPublish{Exchange: "ex", RoutingKey: "rk"})
	m, err := ReadMethod(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'z'
	}
	if p := m.(*BasicPublish); p.Exchange != "ex" || p.RoutingKey != "rk" {
		t.Errorf("decoded method changed with the buffer: %+v", p)
	}
}

func TestShortstrTruncated(t *testing.T) {
	long := strings.Repeat("x", 300)
	m, err := ReadMethod(AppendMethod(nil, &ConnectionBlocked{Reason: long}))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*ConnectionBlocked).Reason; got != long[:255] {
		t.Errorf("reason of %d octets", len(got))
	}
}

func TestDecoderReusesHotMethods(t *testing.T) {
	var d Decoder
	a1, _ := d.ReadMethod(AppendMethod(nil, &BasicAck{DeliveryTag: 1}))
	a2, _ := d.ReadMethod(AppendMethod(nil, &BasicAck{DeliveryTag: 2, Multiple: true}))
	if a1 != a2 || a2.(*BasicAck).DeliveryTag != 2 || !a2.(*BasicAck).Multiple {
		t.Errorf("Decoder did not reuse basic.ack: %p %p %+v", a1, a2, a2)
	}
	q1, _ := d.ReadMethod(AppendMethod(nil, &QueueDeclare{Queue: "a"}))
	q2, _ := d.ReadMethod(AppendMethod(nil, &QueueDeclare{Queue: "b"}))
	if q1 == q2 || q1.(*QueueDeclare).Queue != "a" {
		t.Errorf("Decoder reused a cold method")
	}
	// A reused value is reset: fields of the previous call do not leak.
	p1, _ := d.ReadMethod(AppendMethod(nil, &BasicPublish{Exchange: "e", RoutingKey: "r", Mandatory: true}))
	p2, _ := d.ReadMethod(AppendMethod(nil, &BasicPublish{Exchange: "e", RoutingKey: "r"}))
	if p1 != p2 || p2.(*BasicPublish).Mandatory {
		t.Errorf("basic.publish not reset: %+v", p2)
	}
}
