//go:build integration

package integration

import (
	"slices"
	"testing"
)

// The scanner finds the same records however the stream is cut.
func TestTLSScanner(t *testing.T) {
	rec := func(typ byte, n int) []byte {
		b := []byte{typ, 3, 3, byte(n >> 8), byte(n)}
		return append(b, make([]byte, n)...)
	}
	var stream []byte
	for _, r := range []struct {
		typ byte
		n   int
	}{{22, 300}, {23, 25}, {23, 0}, {23, 600}, {21, 19}} {
		stream = append(stream, rec(r.typ, r.n)...)
	}
	want := []tlsRecord{{22, 300}, {23, 25}, {23, 0}, {23, 600}, {21, 19}}
	for _, size := range []int{1, 2, 5, 7, 25, 31, 1000} {
		var s tlsScanner
		var got []tlsRecord
		for i := 0; i < len(stream); i += size {
			got = append(got, s.feed(stream[i:min(i+size, len(stream))])...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("pieces of %d: %v, want %v", size, got, want)
		}
	}
	hb13, hb12, alert13, alert12, close := tlsRecord{23, 25}, tlsRecord{23, 32}, tlsRecord{23, 19}, tlsRecord{21, 26}, tlsRecord{23, 45}
	for _, c := range []struct {
		recs  []tlsRecord
		n     int
		alert bool
		other int
	}{
		{[]tlsRecord{hb13, hb13, alert13}, 2, true, 0},
		{[]tlsRecord{hb12, hb12, hb12, alert12}, 3, true, 0},
		{[]tlsRecord{hb13, hb13}, 2, false, 0},
		{[]tlsRecord{hb13, close, alert13}, 1, true, 1},
		{[]tlsRecord{alert13, hb13}, 1, false, 1},
	} {
		n, alert, other := afterDrop(c.recs)
		if n != c.n || alert != c.alert || len(other) != c.other {
			t.Errorf("afterDrop(%v) = %d, %v, %v; want %d, %v, %d others", c.recs, n, alert, other, c.n, c.alert, c.other)
		}
	}
}
