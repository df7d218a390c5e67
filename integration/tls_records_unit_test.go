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
	if n, other := heartbeatRecords(want); n != 2 || !other {
		t.Errorf("heartbeatRecords = %d, %v; want 2 small application-data records and a larger one", n, other)
	}
}
