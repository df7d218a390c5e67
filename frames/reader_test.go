package frames

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadFrameValid(t *testing.T) {
	in := concat(
		frameBytes(TypeHeartbeat, 0, nil),
		frameBytes(TypeMethod, 1, channelOpen),
		frameBytes(TypeMethod, 1, publishPayload),
		frameBytes(TypeHeader, 1, headerPayload),
		frameBytes(TypeBody, 1, bodyPayload),
		frameBytes(TypeBody, 65535, nil),
	)
	want := []Frame{
		{TypeHeartbeat, 0, nil},
		{TypeMethod, 1, channelOpen},
		{TypeMethod, 1, publishPayload},
		{TypeHeader, 1, headerPayload},
		{TypeBody, 1, bodyPayload},
		{TypeBody, 65535, nil},
	}
	r := NewReader(bytes.NewReader(in))
	for i, w := range want {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Type != w.Type || f.Channel != w.Channel || !bytes.Equal(f.Payload, w.Payload) {
			t.Fatalf("frame %d = %+v, want %+v", i, f, w)
		}
		if cap(f.Payload) != len(f.Payload) {
			t.Fatalf("frame %d: payload cap %d > len %d: an append would overwrite the next frame", i, cap(f.Payload), len(f.Payload))
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	long := []byte("abcdefghijklmnopqrstuvwxyz")
	tests := []struct {
		name     string
		in       []byte
		frameMax uint32 // 0: leave NewReader's default
		noLimit  bool
		frame    Frame // the frame returned with the error
		code     uint16
		fatal    bool
		text     string // ReplyText
	}{
		{
			name: "heartbeat on channel 1", in: frameBytes(8, 1, nil),
			frame: Frame{Type: 8, Channel: 1}, code: 505,
			text: "UNEXPECTED_FRAME - type 8, all octets = <<>>",
		},
		{
			name: "heartbeat on channel 5", in: frameBytes(8, 5, nil),
			frame: Frame{Type: 8, Channel: 5}, code: 505,
			text: "UNEXPECTED_FRAME - type 8, all octets = <<>>",
		},
		{
			name: "heartbeat with a payload", in: frameBytes(8, 0, []byte("abcd")),
			frame: Frame{Type: 8, Payload: []byte("abcd")}, code: 501,
			text: `FRAME_ERROR - type 8, all octets = <<"abcd">>: unknown_frame`,
		},
		{
			name: "heartbeat with a payload on channel 1", in: frameBytes(8, 1, []byte{1}),
			frame: Frame{Type: 8, Channel: 1, Payload: []byte{1}}, code: 501,
			text: "FRAME_ERROR - type 8, all octets = <<1>>: unknown_frame",
		},
		{
			name: "unknown frame type 7", in: frameBytes(7, 0, nil),
			frame: Frame{Type: 7}, code: 501,
			text: "FRAME_ERROR - type 7, all octets = <<>>: unknown_frame",
		},
		{
			name: "unknown frame type 9 on channel 3", in: frameBytes(9, 3, nil),
			frame: Frame{Type: 9, Channel: 3}, code: 501,
			text: "FRAME_ERROR - type 9, all octets = <<>>: unknown_frame",
		},
		{
			name: "unknown frame type 0 with payload", in: frameBytes(0, 1, []byte{0, 20, 0, 10, 0}),
			frame: Frame{Type: 0, Channel: 1, Payload: channelOpen}, code: 501,
			text: "FRAME_ERROR - type 0, all octets = <<0,20,0,10,0>>: unknown_frame",
		},
		{
			name: "method frame shorter than 4 octets", in: frameBytes(1, 1, []byte{0, 20}),
			frame: Frame{Type: 1, Channel: 1, Payload: []byte{0, 20}}, code: 501,
			text: "FRAME_ERROR - type 1, all octets = <<0,20>>: unknown_frame",
		},
		{
			name: "empty method frame on channel 0", in: frameBytes(1, 0, nil),
			frame: Frame{Type: 1}, code: 501,
			text: "FRAME_ERROR - type 1, all octets = <<>>: unknown_frame",
		},
		{
			name: "content header shorter than 12 octets", in: frameBytes(2, 1, headerPayload[:11]),
			frame: Frame{Type: 2, Channel: 1, Payload: headerPayload[:11]}, code: 501,
			text: "FRAME_ERROR - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0>>: unknown_frame",
		},
		{
			name: "content header on channel 0", in: frameBytes(2, 0, headerPayload),
			frame: Frame{Type: 2, Payload: headerPayload}, code: 505,
			text: "UNEXPECTED_FRAME - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0,16,0,0>>",
		},
		{
			name: "body on channel 0", in: frameBytes(3, 0, []byte("abc")),
			frame: Frame{Type: 3, Payload: []byte("abc")}, code: 505,
			text: `UNEXPECTED_FRAME - type 3, all octets = <<"abc">>`,
		},
		{
			name: "body on channel 0, longer than 16 octets", in: frameBytes(3, 0, long),
			frame: Frame{Type: 3, Payload: long}, code: 505,
			text: `UNEXPECTED_FRAME - type 3, first 16 octets = <<"abcdefghijklmnop">>`,
		},
		{
			name: "heartbeat with frame end 0", in: appendFrameBytes(nil, 8, 0, nil, 0),
			frame: Frame{Type: 8}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 8, all octets = <<>>: {invalid_frame_end_marker,0}",
		},
		{
			name: "channel.open with frame end 0", in: appendFrameBytes(nil, 1, 1, channelOpen, 0),
			frame: Frame{Type: 1, Channel: 1, Payload: channelOpen}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}",
		},
		{
			// Erlang's ~p breaks the reason onto a second line past column 80.
			name: "long frame with a bad frame end", in: appendFrameBytes(nil, 1, 1, long, 255),
			frame: Frame{Type: 1, Channel: 1, Payload: long}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 1, first 16 octets = <<\"abcdefghijklmnop\">>: {invalid_frame_end_marker,\n" +
				strings.Repeat(" ", 51) + "255}",
		},
		{
			name: "bad frame end on an unknown type", in: appendFrameBytes(nil, 7, 0, nil, 'x'),
			frame: Frame{Type: 7}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 7, all octets = <<>>: {invalid_frame_end_marker,120}",
		},
		{
			// Only the header arrives: the size is refused before any payload is read.
			name: "body 4097 before tuning", in: frameBytes(3, 1, make([]byte, 4097))[:HeaderSize],
			frame: Frame{Type: 3, Channel: 1}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}",
		},
		{
			name: "method 5004 at frame_max 4096", in: frameBytes(1, 0, make([]byte, 5004))[:HeaderSize], frameMax: 4096,
			frame: Frame{Type: 1}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,5004,4088}",
		},
		{
			name: "header announcing 1000000 octets", in: []byte{8, 0, 0, 0, 0x0f, 0x42, 0x40}, frameMax: 131072,
			frame: Frame{Type: 8}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 8, all octets = <<>>: {frame_too_large,1000000,131064}",
		},
		{
			name: "payload frame_max+1", in: []byte{3, 0, 1, 0, 2, 0, 1}, frameMax: 131072,
			frame: Frame{Type: 3, Channel: 1}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,131073,131064}",
		},
		{
			name: "4 GiB payload", in: []byte{3, 0, 1, 255, 255, 255, 255}, frameMax: 131072,
			frame: Frame{Type: 3, Channel: 1}, code: 501, fatal: true,
			text: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4294967295,131064}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A heartbeat follows, which a non-fatal error must not hide.
			in := concat(tt.in, frameBytes(TypeHeartbeat, 0, nil))
			r := NewReader(bytes.NewReader(in))
			if tt.frameMax != 0 {
				r.SetFrameMax(tt.frameMax)
			}
			f, err := r.ReadFrame()
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("ReadFrame: %v (%T), want *Error", err, err)
			}
			if fe.Code != tt.code || fe.Fatal != tt.fatal || fe.ReplyText() != tt.text {
				t.Fatalf("got code %d fatal %v text %q\nwant code %d fatal %v text %q",
					fe.Code, fe.Fatal, fe.ReplyText(), tt.code, tt.fatal, tt.text)
			}
			if fe.FrameType != tt.frame.Type || fe.Channel != tt.frame.Channel {
				t.Fatalf("error names type %d channel %d, want %d %d", fe.FrameType, fe.Channel, tt.frame.Type, tt.frame.Channel)
			}
			if f.Type != tt.frame.Type || f.Channel != tt.frame.Channel || !bytes.Equal(f.Payload, tt.frame.Payload) {
				t.Fatalf("frame = %+v, want %+v", f, tt.frame)
			}
			wantLog := map[uint16]string{501: "frame_error", 505: "unexpected_frame"}[tt.code]
			if fe.LogName() != wantLog {
				t.Fatalf("LogName = %q, want %q", fe.LogName(), wantLog)
			}
			if want := "frames: " + tt.text; fe.Error() != want {
				t.Fatalf("Error() = %q, want %q", fe.Error(), want)
			}
			next, err2 := r.ReadFrame()
			if tt.fatal {
				if err2 != err {
					t.Fatalf("after a fatal error: %v, want the same error again", err2)
				}
				return
			}
			if err2 != nil || next.Type != TypeHeartbeat {
				t.Fatalf("after a non-fatal error: %+v, %v; want the heartbeat", next, err2)
			}
		})
	}
}

func TestReadFrameMaxBoundary(t *testing.T) {
	tests := []struct {
		frameMax uint32
		size     int
		ok       bool
	}{
		{4096, 4088, true}, {4096, 4089, true}, {4096, 4096, true}, {4096, 4097, false},
		{131072, 131072, true}, {131072, 131073, false},
		{0, 200000, true},
	}
	for _, tt := range tests {
		r := NewReader(bytes.NewReader(frameBytes(TypeBody, 1, make([]byte, tt.size))))
		if r.FrameMax() != MinFrameMax {
			t.Fatalf("a new Reader's frame_max is %d, want %d", r.FrameMax(), MinFrameMax)
		}
		r.SetFrameMax(tt.frameMax)
		f, err := r.ReadFrame()
		if tt.ok != (err == nil) {
			t.Errorf("frame_max %d, payload %d: err %v, want ok=%v", tt.frameMax, tt.size, err, tt.ok)
		}
		if err == nil && len(f.Payload) != tt.size {
			t.Errorf("frame_max %d: payload %d octets, want %d", tt.frameMax, len(f.Payload), tt.size)
		}
		if tt.frameMax != 0 && len(r.buf) > int(tt.frameMax)+FrameSizeFudge {
			t.Errorf("frame_max %d: buffer of %d octets", tt.frameMax, len(r.buf))
		}
	}
}

// TestReadFrameSmallFrameMax checks that read-ahead respects a frame_max smaller
// than the read-ahead buffer.
func TestReadFrameSmallFrameMax(t *testing.T) {
	r := NewReader(&repeatReader{data: frameBytes(TypeBody, 1, make([]byte, 50))})
	r.SetFrameMax(100)
	for range 100 {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		if len(r.buf) > 100+FrameSizeFudge && len(r.buf) > smallBufferSize {
			t.Fatalf("buffer of %d octets at frame_max 100", len(r.buf))
		}
	}
	if r.pooled == nil {
		t.Fatal("a busy stream never left the inline buffer")
	}
}

func TestReadFrameEOF(t *testing.T) {
	hb := frameBytes(TypeHeartbeat, 0, nil)
	open := frameBytes(TypeMethod, 1, channelOpen)
	tests := []struct {
		name string
		in   []byte
		want error // after the complete frames
	}{
		{"empty stream", nil, io.EOF},
		{"complete frames", concat(hb, open), io.EOF},
		{"partial header", concat(hb, open[:3]), io.ErrUnexpectedEOF},
		{"header only", concat(hb, open[:HeaderSize]), io.ErrUnexpectedEOF},
		{"partial payload", concat(hb, open[:HeaderSize+2]), io.ErrUnexpectedEOF},
		{"no frame end", concat(hb, open[:len(open)-1]), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, wrap := range readerWrappers {
			r := NewReader(wrap.f(bytes.NewReader(tt.in)))
			res := readAll(t, r)
			if got := res[len(res)-1].err; got != tt.want {
				t.Errorf("%s (%s): final error %v, want %v", tt.name, wrap.name, got, tt.want)
			}
		}
	}
}

var readerWrappers = []struct {
	name string
	f    func(io.Reader) io.Reader
}{
	{"plain", func(r io.Reader) io.Reader { return r }},
	{"OneByteReader", iotest.OneByteReader},
	{"HalfReader", iotest.HalfReader},
	{"DataErrReader", iotest.DataErrReader},
	{"OneByteReader+DataErrReader", func(r io.Reader) io.Reader { return iotest.DataErrReader(iotest.OneByteReader(r)) }},
}

// splitStream holds valid frames, frames answered with non-fatal errors, a large
// body and, last, a fatal one.
func splitStream() []byte {
	big := bytes.Repeat([]byte("0123456789"), 1000)
	return concat(
		frameBytes(TypeHeartbeat, 0, nil),
		frameBytes(TypeMethod, 1, publishPayload),
		frameBytes(TypeHeader, 1, headerPayload),
		frameBytes(TypeBody, 1, bodyPayload),
		frameBytes(TypeHeartbeat, 1, nil),
		frameBytes(TypeBody, 1, big),
		frameBytes(7, 2, []byte("xyz")),
		frameBytes(TypeMethod, 2, deliverPayload),
		frameBytes(TypeHeartbeat, 0, []byte("abcd")),
		frameBytes(TypeHeartbeat, 0, nil),
		appendFrameBytes(nil, TypeMethod, 3, channelOpen, 0),
	)
}

func TestReadFrameSplit(t *testing.T) {
	in := splitStream()
	ref := readAll(t, newTestReader(bytes.NewReader(in)))
	if n := len(ref); n != 11 {
		t.Fatalf("reference read gave %d results, want 11: %+v", n, ref)
	}
	for _, wrap := range readerWrappers {
		r := NewReader(wrap.f(bytes.NewReader(in)))
		r.SetFrameMax(131072)
		sameResults(t, wrap.name, readAll(t, r), ref)
	}
	// Every chunk size up to beyond the frames, and irregular patterns.
	for size := 1; size <= 300; size++ {
		r := NewReader(&chunkReader{data: in, sizes: []int{size}})
		r.SetFrameMax(131072)
		sameResults(t, "chunks", readAll(t, r), ref)
	}
	for _, sizes := range [][]int{{1, 7}, {7, 1}, {3, 5, 8, 13}, {8, 2000, 1}, {4096, 1}, {127, 129}} {
		r := NewReader(&chunkReader{data: in, sizes: sizes})
		r.SetFrameMax(131072)
		sameResults(t, "chunks", readAll(t, r), ref)
	}
}

// TestReadFrameResumesAfterTimeout shows that an error from the underlying reader in
// the middle of a frame loses nothing: the next call completes the frame.
func TestReadFrameResumesAfterTimeout(t *testing.T) {
	in := splitStream()
	ref := readAll(t, newTestReader(bytes.NewReader(in)))
	for _, size := range []int{1, 3, 7, 8, 50, 1000} {
		// Every other Read fails with a timeout and no data.
		r := NewReader(&flakyReader{r: &chunkReader{data: in, sizes: []int{size}}})
		r.SetFrameMax(131072)
		var got []readResult
		timeouts := 0
		for range 1000000 {
			f, err := r.ReadFrame()
			if err == iotest.ErrTimeout {
				timeouts++
				continue
			}
			got = append(got, readResult{Frame{f.Type, f.Channel, bytes.Clone(f.Payload)}, err})
			var fe *Error
			if err != nil && !(errors.As(err, &fe) && !fe.Fatal) {
				break
			}
		}
		sameResults(t, "flaky", got, ref)
		if timeouts == 0 {
			t.Fatalf("chunk %d: no timeout seen", size)
		}
	}
	// The standard library's TimeoutReader: its second Read times out.
	r := NewReader(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(frameBytes(TypeMethod, 1, channelOpen)))))
	if _, err := r.ReadFrame(); err != iotest.ErrTimeout {
		t.Fatalf("first ReadFrame: %v, want iotest.ErrTimeout", err)
	}
	f, err := r.ReadFrame()
	if err != nil || !bytes.Equal(f.Payload, channelOpen) {
		t.Fatalf("after the timeout: %+v, %v", f, err)
	}
}

func newTestReader(r io.Reader) *Reader {
	rd := NewReader(r)
	rd.SetFrameMax(131072)
	return rd
}

// flakyReader fails every other Read with iotest.ErrTimeout.
type flakyReader struct {
	r io.Reader
	n int
}

func (f *flakyReader) Read(p []byte) (int, error) {
	f.n++
	if f.n%2 == 0 {
		return 0, iotest.ErrTimeout
	}
	return f.r.Read(p)
}

// TestReadFrameErrorWithData checks that an error the underlying reader returns
// once, together with the data that completes a frame, is not lost.
func TestReadFrameErrorWithData(t *testing.T) {
	boom := errors.New("boom")
	in := concat(frameBytes(TypeHeartbeat, 0, nil), frameBytes(TypeMethod, 1, channelOpen))
	r := NewReader(&onceErrReader{data: in, err: boom})
	for i := range 2 {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, err := r.ReadFrame(); err != boom {
		t.Fatalf("after the data: %v, want boom", err)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("then: %v, want io.EOF", err)
	}
}

// onceErrReader returns all its data with err in one Read, then io.EOF.
type onceErrReader struct {
	data []byte
	err  error
}

func (o *onceErrReader) Read(p []byte) (int, error) {
	if o.data == nil {
		return 0, io.EOF
	}
	n := copy(p, o.data)
	o.data = o.data[n:]
	if len(o.data) > 0 {
		return n, nil
	}
	o.data = nil
	return n, o.err
}

func TestReadFrameNoProgress(t *testing.T) {
	r := NewReader(emptyReader{})
	if _, err := r.ReadFrame(); err != io.ErrNoProgress {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// TestReaderBuffer checks the memory rules: nothing on the heap for heartbeats,
// growth only as octets arrive, never beyond one frame of frame_max, and the heap
// buffer handed back once everything buffered is consumed.
func TestReaderBuffer(t *testing.T) {
	hb := frameBytes(TypeHeartbeat, 0, nil)
	big := frameBytes(TypeBody, 1, make([]byte, 131072))
	// Frames arriving one at a time, as on a connection that is mostly idle.
	r := NewReader(&arrivalReader{arrivals: [][]byte{hb, big, hb, hb}})
	r.SetFrameMax(131072)
	step := func(wantHeap bool) {
		t.Helper()
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		if (r.pooled != nil) != wantHeap {
			t.Fatalf("heap buffer held: %v, want %v (len %d)", r.pooled != nil, wantHeap, len(r.buf))
		}
		if len(r.buf) > 131072+FrameSizeFudge {
			t.Fatalf("buffer of %d octets exceeds one frame of frame_max", len(r.buf))
		}
	}
	step(false) // heartbeat: inline buffer only
	step(true)  // 128 KiB body
	step(false) // idle again: the body's buffer is gone
	step(false)

	// A busy connection reading 4 KiB messages keeps its 8 KiB buffer between them,
	// and gives it back once a small read (a heartbeat) follows.
	msg := frameBytes(TypeBody, 1, make([]byte, 4096))
	r = NewReader(&arrivalReader{arrivals: [][]byte{msg, msg, msg, hb, hb}})
	r.SetFrameMax(131072)
	step(true)
	step(true)
	step(true)
	step(true) // the heartbeat came into the kept buffer
	step(false)

	// A header announcing frame_max octets, followed by only a few: the buffer
	// follows the octets received, not the size announced.
	in := frameBytes(TypeBody, 1, make([]byte, 131072))[:HeaderSize+1000]
	r = NewReader(bytes.NewReader(in))
	r.SetFrameMax(131072)
	if _, err := r.ReadFrame(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated frame: %v", err)
	}
	if len(r.buf) > readAheadSize {
		t.Fatalf("buffer of %d octets for 1007 octets received", len(r.buf))
	}
}

// arrivalReader models a socket where each arrival is all there is to read until
// the reader has taken it: a Read never returns octets of two arrivals.
type arrivalReader struct{ arrivals [][]byte }

func (a *arrivalReader) Read(p []byte) (int, error) {
	if len(a.arrivals) == 0 {
		return 0, io.EOF
	}
	n := copy(p, a.arrivals[0])
	if a.arrivals[0] = a.arrivals[0][n:]; len(a.arrivals[0]) == 0 {
		a.arrivals = a.arrivals[1:]
	}
	return n, nil
}

func TestReadHeartbeatAllocs(t *testing.T) {
	src := &repeatReader{data: frameBytes(TypeHeartbeat, 0, nil)}
	r := NewReader(src)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("reading a heartbeat: %v allocations, want 0", allocs)
	}
	// The same when every heartbeat arrives in a Read of its own.
	one := &chunkReader{data: bytes.Repeat(frameBytes(TypeHeartbeat, 0, nil), 2000), sizes: []int{8}}
	r = NewReader(one)
	allocs = testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 || r.pooled != nil {
		t.Fatalf("reading lone heartbeats: %v allocations, heap buffer %v; want 0, none", allocs, r.pooled != nil)
	}
}

// repeatReader returns data over and over, filling each Read.
type repeatReader struct {
	data  []byte
	block []byte // data repeated to at least 8 KiB
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.block == nil {
		r.block = bytes.Repeat(r.data, 8192/len(r.data)+1)
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}
