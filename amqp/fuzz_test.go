package amqp

import (
	"bytes"
	"errors"
	"testing"
)

// The checked-in seeds live in testdata/fuzz/<target>; these add one encoding
// of every method (and a full property list and table) so the corpus follows
// the definition.

func FuzzReadMethod(f *testing.F) {
	for _, m := range allMethods(f) {
		fill(f, m, false)
		f.Add(AppendMethod(nil, m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadMethod(data)
		var d Decoder
		m2, err2 := d.ReadMethod(data)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ReadMethod: %v; Decoder: %v", err, err2)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == 0 || e.Text == "" {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		enc := AppendMethod(nil, m)
		// Only bits and 't' values can be normalised, so the size never changes.
		if len(enc) != len(data) {
			t.Fatalf("%s: %d octets re-encode to %d", m.Name(), len(data), len(enc))
		}
		if enc2 := AppendMethod(nil, m2); !bytes.Equal(enc2, enc) {
			t.Fatalf("%s: Decoder result encodes differently", m.Name())
		}
		m3, err := ReadMethod(enc)
		if err != nil {
			t.Fatalf("%s: re-encoding does not decode: %v", m.Name(), err)
		}
		if enc3 := AppendMethod(nil, m3); !bytes.Equal(enc3, enc) {
			t.Fatalf("%s: not stable after one round", m.Name())
		}
	})
}

func FuzzTable(f *testing.F) {
	f.Add(AppendTable(nil, sampleTable()))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := DecodeTable(data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != FrameError {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		enc := AppendTable(nil, tab)
		if len(enc) != len(data) {
			t.Fatalf("%d octets re-encode to %d", len(data), len(enc))
		}
		tab2, err := DecodeTable(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if enc2 := AppendTable(nil, tab2); !bytes.Equal(enc2, enc) {
			t.Fatal("not stable after one round")
		}
	})
}

func FuzzProperties(f *testing.F) {
	p := fullProperties()
	f.Add(AppendProperties(nil, &p))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeProperties(data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != FrameError {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		enc := AppendProperties(nil, &p)
		if len(enc) != len(data) {
			t.Fatalf("%d octets re-encode to %d", len(data), len(enc))
		}
		// Without a headers table nothing can be normalised.
		if p.Flags&FlagHeaders == 0 && !bytes.Equal(enc, data) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", enc, data)
		}
		p2, err := DecodeProperties(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if enc2 := AppendProperties(nil, &p2); !bytes.Equal(enc2, enc) {
			t.Fatal("not stable after one round")
		}
	})
}

// FuzzValidProperties checks that ValidProperties accepts exactly the
// property lists DecodeProperties decodes, with the same error otherwise.
func FuzzValidProperties(f *testing.F) {
	p := fullProperties()
	f.Add(AppendProperties(nil, &p))
	f.Add(AppendProperties(nil, &benchProps))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, want := DecodeProperties(data)
		got := ValidProperties(data)
		if (got == nil) != (want == nil) {
			t.Fatalf("ValidProperties: %v; DecodeProperties: %v", got, want)
		}
		if got != nil && got.Error() != want.Error() {
			t.Fatalf("ValidProperties: %v; DecodeProperties: %v", got, want)
		}
	})
}
