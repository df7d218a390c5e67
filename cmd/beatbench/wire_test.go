package main

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// readAll parses every frame in b.
func readAll(t *testing.T, b []byte, bufSize int) (types []uint8, payloads [][]byte) {
	t.Helper()
	fr := newFrameReader(bytes.NewReader(b), bufSize)
	for {
		typ, _, p, err := fr.read()
		if err != nil {
			return types, payloads
		}
		types = append(types, typ)
		payloads = append(payloads, append([]byte(nil), p...))
	}
}

func TestMethodEncoding(t *testing.T) {
	b := appendTuneOk(nil, 2047, 131072, 1)
	want := []byte{1, 0, 0, 0, 0, 0, 12, 0, 10, 0, 31, 0x07, 0xff, 0, 2, 0, 0, 0, 1, 0xCE}
	if !bytes.Equal(b, want) {
		t.Fatalf("tune-ok = % x\nwant      % x", b, want)
	}
	b = appendBasicAck(nil, 1, 258, true)
	want = []byte{1, 0, 1, 0, 0, 0, 13, 0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0xCE}
	if !bytes.Equal(b, want) {
		t.Fatalf("basic.ack = % x\nwant        % x", b, want)
	}
	// start-ok: class, method, a table, "PLAIN", the response, "en_US".
	_, ps := readAll(t, appendStartOk(nil, "guest", "pw"), 1024)
	id, r, err := methodOf(ps[0])
	if err != nil || id != methodID(10, 11) {
		t.Fatalf("start-ok id %x %v", id, err)
	}
	r.take(int(r.u32()))
	if m := r.shortStr(); m != "PLAIN" {
		t.Fatalf("mechanism %q", m)
	}
	if resp := string(r.take(int(r.u32()))); resp != "\x00guest\x00pw" {
		t.Fatalf("response %q", resp)
	}
	if l := r.shortStr(); l != "en_US" || r.err != nil || len(r.b) != 0 {
		t.Fatalf("locale %q, err %v, %d left", l, r.err, len(r.b))
	}
}

func TestPublishFramesAndTemplate(t *testing.T) {
	for i, size := range []int{16, 4096, 10000} {
		mode := uint8(2 * (i % 2)) // plain, persistent, plain
		tmpl, off := publishTemplate("q1", size, 4096, mode)
		binary.BigEndian.PutUint64(tmpl[off:], 0x1122334455667788)
		types, ps := readAll(t, tmpl, 64<<10)
		wantFrames := 2 + (size+4087)/4088
		if len(types) != wantFrames || types[0] != frameMethod || types[1] != frameHeader {
			t.Fatalf("size %d: frame types %v", size, types)
		}
		id, r, _ := methodOf(ps[0])
		r.u16()
		if id != methodID(60, 40) || r.shortStr() != "" || r.shortStr() != "q1" {
			t.Fatalf("size %d: publish method wrong", size)
		}
		if n, err := contentBodySize(ps[1]); err != nil || n != uint64(size) {
			t.Fatalf("size %d: header body size %d %v", size, n, err)
		}
		flags := binary.BigEndian.Uint16(ps[1][12:])
		if mode == 0 && (flags != 0 || len(ps[1]) != 14) || mode != 0 && (flags != propDeliveryMode || len(ps[1]) != 15 || ps[1][14] != mode) {
			t.Fatalf("size %d mode %d: header properties % x", size, mode, ps[1][12:])
		}
		total := 0
		for i, p := range ps[2:] {
			if types[2+i] != frameBody || len(p) > 4088 {
				t.Fatalf("size %d: body frame %d has type %d, %d octets", size, i, types[2+i], len(p))
			}
			total += len(p)
		}
		if total != size || binary.BigEndian.Uint64(ps[2]) != 0x1122334455667788 {
			t.Fatalf("size %d: body %d octets, starts % x", size, total, ps[2][:8])
		}
	}
}

func TestFrameReaderLargeFrameAndErrors(t *testing.T) {
	body := bytes.Repeat([]byte{7}, 3000)
	b := appendPublish(nil, 1, "q", body, 131072)
	b = append(b, heartbeatFrame...)
	types, ps := readAll(t, b, 64) // frames larger than the buffer take the copying path
	if len(types) != 4 || !bytes.Equal(ps[2], body) || types[3] != frameHeartbeat {
		t.Fatalf("types %v", types)
	}
	bad := append([]byte(nil), heartbeatFrame...)
	bad[7] = 0
	if _, _, _, err := newFrameReader(bytes.NewReader(bad), 64).read(); err != errFrameEnd {
		t.Fatalf("bad frame end: %v", err)
	}
	if _, _, _, err := newFrameReader(bytes.NewReader(heartbeatFrame[:5]), 64).read(); err == nil {
		t.Fatal("truncated frame: no error")
	}
}

func TestParseServerMethods(t *testing.T) {
	deliver := appendMethod(nil, 1, 60, 60, func(b []byte) []byte {
		b = appendShortStr(b, "ctag")
		b = appendU64(b, 77)
		b = append(b, 0)
		b = appendShortStr(b, "")
		return appendShortStr(b, "q")
	})
	_, ps := readAll(t, deliver, 256)
	id, r, _ := methodOf(ps[0])
	if tag, err := parseDeliver(r); id != idBasicDeliver || tag != 77 || err != nil {
		t.Fatalf("deliver: id %x tag %d err %v", id, tag, err)
	}
	_, ps = readAll(t, appendConnectionClose(nil, 320, "CONNECTION_FORCED - bye"), 256)
	id, r, _ = methodOf(ps[0])
	if c := parseClose(r); id != idConnectionClose || c.Code != 320 || c.Text != "CONNECTION_FORCED - bye" {
		t.Fatalf("close: %x %+v", id, c)
	}
	_, ps = readAll(t, appendBasicAck(nil, 1, 5, true), 256)
	_, r, _ = methodOf(ps[0])
	if tag, multi, err := parseAck(r); tag != 5 || !multi || err != nil {
		t.Fatalf("ack: %d %v %v", tag, multi, err)
	}
	if _, _, err := methodOf([]byte{0, 10}); err == nil {
		t.Fatal("short method: no error")
	}
	r = &fieldReader{b: []byte{5, 'a'}}
	if r.shortStr(); r.err == nil {
		t.Fatal("short string past the end: no error")
	}
}
