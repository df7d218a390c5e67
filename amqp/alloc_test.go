package amqp

import (
	"runtime"
	"testing"
)

// Allocation counts of the hot paths (counts, not timings).
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	publish := AppendMethod(nil, &BasicPublish{Exchange: "amq.direct", RoutingKey: "key"})
	ack := AppendMethod(nil, &BasicAck{DeliveryTag: 99, Multiple: true})
	props := Properties{ContentType: "text/plain", DeliveryMode: 2, MessageID: "m-1"}
	rawProps := AppendProperties(nil, &props)
	full := fullProperties()
	rawFull := AppendProperties(nil, &full)
	buf := make([]byte, 0, 512)
	deliver := &BasicDeliver{ConsumerTag: "c", DeliveryTag: 1, Exchange: "e", RoutingKey: "r"}
	var d Decoder
	cases := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"ReadMethod basic.publish", 2, func() { ReadMethod(publish) }},
		{"ReadMethod basic.ack", 1, func() { ReadMethod(ack) }},
		{"Decoder basic.publish", 0, func() { d.ReadMethod(publish) }},
		{"Decoder basic.ack", 0, func() { d.ReadMethod(ack) }},
		{"AppendMethod basic.deliver", 0, func() { AppendMethod(buf[:0], deliver) }},
		{"AppendProperties", 0, func() { AppendProperties(buf[:0], &props) }},
		{"DecodeProperties", 1, func() { DecodeProperties(rawProps) }},
		{"ValidProperties", 0, func() { ValidProperties(rawProps) }},
		{"ValidProperties nested headers", 0, func() { ValidProperties(rawFull) }},
		{"SplitContentHeader", 0, func() { SplitContentHeader(AppendContentHeader(buf[:0], 60, 16, rawProps)) }},
	}
	for _, c := range cases {
		if got := testing.AllocsPerRun(100, c.fn); got > c.max {
			t.Errorf("%s: %v allocations, want at most %v", c.name, got, c.max)
		}
	}
}

// Declared lengths far beyond the input must not be allocated: the octets
// allocated stay within a small multiple of the input size.
func TestDecodeAllocationBound(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation sizes differ under -race")
	}
	inputs := [][]byte{
		{0, 10, 0, 21, 0xff, 0xff, 0xff, 0xff, 1, 2, 3},                                           // secure-ok, longstr of 4 GiB
		{0, 10, 0, 11, 0x7f, 0xff, 0xff, 0xff, 0},                                                 // start-ok, table of 2 GiB
		{0, 40, 0, 10, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 9, 1, 'k', 'S', 0xff, 0xff, 0xff, 0xf0, 1}, // longstr inside a table
		{0, 40, 0, 10, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 9, 1, 'k', 'x', 0xff, 0xff, 0xff, 0xf0, 1}, // bytes inside a table
		{0, 40, 0, 10, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 9, 1, 'k', 'A', 0xff, 0xff, 0xff, 0xf0, 1}, // array inside a table
	}
	for _, in := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 10 {
			if _, err := ReadMethod(in); err == nil {
				t.Fatalf("% x decoded", in)
			}
		}
		runtime.ReadMemStats(&after)
		if n := (after.TotalAlloc - before.TotalAlloc) / 10; n > 1024 {
			t.Errorf("% x: %d octets allocated per decode", in, n)
		}
	}
	// A table made of the smallest fields (a void with an empty name, two
	// octets) costs one Field (32 octets) per field: 16 octets of allocation
	// per input octet.
	tab := make([]byte, 4, 4+2*10000)
	for range 10000 {
		tab = append(tab, 0, 'V')
	}
	tab[0], tab[1], tab[2], tab[3] = 0, 0, 0x4e, 0x20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := DecodeTable(tab); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 17*uint64(len(tab)) {
		t.Errorf("%d fields: %d octets allocated for %d input octets", 10000, n, len(tab))
	}
}
