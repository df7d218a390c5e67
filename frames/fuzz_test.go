package frames

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"regexp"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// splitReader feeds data in chunks whose sizes come from splits (octet k gives a
// chunk of splits[k]+1 octets, cycling); an octet 0 also makes the Read before its
// chunk fail with iotest.ErrTimeout, which the Reader must survive.
type splitReader struct {
	data      []byte
	splits    []byte
	i         int
	delivered int
	failed    bool
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := len(s.data)
	if len(s.splits) > 0 {
		k := s.splits[s.i%len(s.splits)]
		if k == 0 && !s.failed {
			s.failed = true
			return 0, iotest.ErrTimeout
		}
		s.failed = false
		s.i++
		n = min(n, int(k)+1)
	}
	n = copy(p, s.data[:n])
	s.data = s.data[n:]
	s.delivered += n
	return n, nil
}

// FuzzReader feeds an arbitrary byte stream, split at arbitrary points and
// interrupted by timeouts, to a Reader with an arbitrary frame_max. It checks that
// the Reader never panics, reads exactly what an unsplit read of the same stream
// gives, re-encodes to the bytes it consumed, and never holds a buffer larger than
// one frame of frame_max, larger than the frames the stream declares, or out of
// proportion to the octets delivered so far.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, frameMax uint32, splits []byte, stream []byte) {
		// The largest frame the stream declares, in order, as far as it goes.
		maxTotal := 0
		for off := 0; off+HeaderSize <= len(stream); {
			total := int(binary.BigEndian.Uint32(stream[off+3:])) + FrameSizeFudge
			maxTotal = max(maxTotal, total)
			off += total
		}
		ref := NewReader(bytes.NewReader(stream))
		ref.SetFrameMax(frameMax)
		want := readAll(t, ref)

		src := &splitReader{data: stream, splits: splits}
		r := NewReader(src)
		r.SetFrameMax(frameMax)
		var got []readResult
		var consumed []byte
		out := &bytes.Buffer{}
		w := NewWriter(out)
		for range 2*len(stream) + 100 {
			fr, err := r.ReadFrame()
			if err == iotest.ErrTimeout {
				continue
			}
			checkBuffer(t, r, frameMax, maxTotal, src.delivered)
			got = append(got, readResult{Frame{fr.Type, fr.Channel, bytes.Clone(fr.Payload)}, err})
			var fe *Error
			if err == nil || errors.As(err, &fe) && !fe.Fatal {
				consumed = append(consumed, frameBytes(fr.Type, fr.Channel, fr.Payload)...)
				if err := w.WriteFrame(fr.Type, fr.Channel, fr.Payload); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if errors.As(err, &fe) && fe.ReplyText() == "" {
				t.Fatal("empty reply text")
			}
			break
		}
		sameResults(t, "split", got, want)
		if !bytes.HasPrefix(stream, consumed) {
			t.Fatalf("frames read do not re-encode to the stream's first %d octets", len(consumed))
		}
		if err := w.Flush(); err != nil || !bytes.Equal(out.Bytes(), consumed) {
			t.Fatalf("Writer output differs from the frames read (%v)", err)
		}
		switch last := got[len(got)-1].err; {
		case last == io.EOF && len(consumed) != len(stream):
			t.Fatalf("io.EOF after %d of %d octets", len(consumed), len(stream))
		case last == io.ErrUnexpectedEOF && len(consumed) >= len(stream):
			t.Fatal("io.ErrUnexpectedEOF at the end of the stream")
		}
	})
}

func checkBuffer(t *testing.T, r *Reader, frameMax uint32, maxTotal, delivered int) {
	t.Helper()
	n := len(r.buf)
	if n <= smallBufferSize {
		return
	}
	if frameMax != 0 && n > int(frameMax)+FrameSizeFudge {
		t.Fatalf("buffer of %d octets at frame_max %d", n, frameMax)
	}
	if n > max(2*max(readAheadSize, maxTotal), maxReadAhead) {
		t.Fatalf("buffer of %d octets; the largest frame declared is %d", n, maxTotal)
	}
	if n > max(readAheadSize, 4*delivered) {
		t.Fatalf("buffer of %d octets after %d octets delivered", n, delivered)
	}
}

var (
	badVersion = regexp.MustCompile(`^\{bad_version,\{(\d+),(\d+),(\d+),(\d+)\}\}$`)
	lineBreak  = regexp.MustCompile(`\n +`)
)

// FuzzProtocolHeader checks ParseProtocolHeader's classification and reason terms on
// arbitrary headers, and that the line breaks of a frame error's explanation sit only
// where removing them gives the one-line form. That erlterm.Binary's output parses
// back to its input is erlterm's FuzzBinary.
func FuzzProtocolHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var h [8]byte
		copy(h[:], b)
		major, minor, err := ParseProtocolHeader(h)
		isAMQP := string(h[:4]) == "AMQP"
		v := [4]byte(h[4:])
		switch {
		case err == nil:
			ok := isAMQP && (v == [4]byte{0, 0, 9, 1} && major == 0 && minor == 9 ||
				v == [4]byte{1, 1, 0, 9} && major == 0 && minor == 9 ||
				v == [4]byte{1, 1, 8, 0} && major == 8 && minor == 0 ||
				v == [4]byte{1, 1, 9, 1} && major == 8 && minor == 0)
			if !ok {
				t.Fatalf("%q accepted as %d-%d", h, major, minor)
			}
		default:
			var he *HeaderError
			if !errors.As(err, &he) || he.Header != h {
				t.Fatalf("%q: %v", h, err)
			}
			reason := he.Reason()
			switch {
			case !isAMQP:
				if reason != "{bad_header,"+erlterm.Binary(h[:])+"}" {
					t.Fatalf("%q: reason %q", h, reason)
				}
			case v[1] == 1 && v[2] == 0 && v[3] == 0:
				if reason != "amqp1_0_plugin_not_enabled" {
					t.Fatalf("%q: reason %q", h, reason)
				}
			default:
				m := badVersion.FindStringSubmatch(reason)
				if m == nil {
					t.Fatalf("%q: reason %q", h, reason)
				}
				for i := range 4 {
					if n, _ := strconv.Atoi(m[i+1]); n != int(v[i]) {
						t.Fatalf("%q: reason %q", h, reason)
					}
				}
			}
		}

		snippet, word := b, "all"
		if len(b) > 16 {
			snippet, word = b[:16], "first 16"
		}
		flat := "type 1, " + word + " octets = " + erlterm.Binary(snippet) + ": {invalid_frame_end_marker,255}"
		e := explanation(1, b, "invalid_frame_end_marker", "255")
		if lineBreak.ReplaceAllString(e, "") != flat {
			t.Fatalf("explanation %q is not a broken form of %q", e, flat)
		}
	})
}
