package frames

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strconv"
)

const (
	// smallBufferSize is the Reader's inline buffer: enough for a heartbeat and a few
	// small frames, and all an idle connection keeps.
	smallBufferSize = 128
	// readAheadSize is the buffer a Reader moves to when the inline one fills up.
	readAheadSize = 4096
	// maxReadAhead bounds the read-ahead buffer: a Reader whose buffer is filled by
	// the stream doubles it, up to this size, so that a connection with a backlog
	// reads many messages per system call (at 4 KiB, reading a publisher of 4 KiB
	// messages took 28 % of the broker's CPU in read(2), and moving partial frames to
	// the front of the full buffer 4 % more).
	maxReadAhead = 64 << 10
	// keepBufferSize is the largest heap buffer a Reader keeps once everything
	// buffered is consumed, and only while the data between such points outgrows the
	// inline buffer: a busy connection keeps its read-ahead buffer between messages.
	keepBufferSize = maxReadAhead
	// maxEmptyReads bounds successive (0, nil) reads, as bufio does.
	maxEmptyReads = 100
)

var errInvalidRead = errors.New("frames: reader returned an invalid count")

// Reader reads frames from a byte stream. It is not safe for concurrent use: one
// goroutine per connection reads.
//
// The Reader checks a frame's declared size against frame_max as soon as the 7-octet
// header has arrived, before it reads or makes room for the payload, and grows its
// buffer only as payload octets actually arrive, so memory follows received data and
// never exceeds one frame of frame_max octets. It reads ahead to save system calls:
// into an inline 128-octet buffer, and into a pooled heap buffer (4 KiB, or as big
// as a frame needs) once that fills up; each time the stream fills the heap buffer
// it doubles, up to 64 KiB (or one frame of frame_max, if smaller). Whenever
// everything buffered has been consumed it gives the heap buffer back, unless the
// buffer is at most 64 KiB and more than 128 octets arrived since the previous such
// point (the connection is busy, and keeping the buffer saves growing it again for
// the next message). So a connection holds at most 64 KiB between frames, and only
// after its reads have filled 32 KiB; none once a small frame such as a heartbeat
// has arrived after its last burst; reading a heartbeat frame allocates nothing.
type Reader struct {
	r        io.Reader
	frameMax uint32
	buf      []byte  // r.small[:] or *pooled
	pooled   *[]byte // the heap buffer in use, nil while buf is r.small
	pos, lim int     // buf[pos:lim] holds bytes read but not consumed
	burst    int     // octets read since everything buffered was last consumed
	readErr  error   // from the underlying reader, not yet returned
	fatal    *Error  // set after a fatal frame error; returned by every later call
	small    [smallBufferSize]byte
}

// NewReader returns a Reader reading from r with the frame_max in force before
// connection.tune-ok, MinFrameMax. r need not be buffered.
func NewReader(r io.Reader) *Reader {
	rd := &Reader{r: r, frameMax: MinFrameMax}
	rd.buf = rd.small[:]
	return rd
}

// SetFrameMax sets the largest payload accepted; 0 means no limit. The broker calls
// it with the negotiated frame_max after connection.tune-ok. RabbitMQ's check
// (rabbit_reader:handle_input/3) is payload size > frame_max, so a whole frame may be
// frame_max+FrameSizeFudge octets long.
func (r *Reader) SetFrameMax(n uint32) { r.frameMax = n }

// FrameMax returns the limit set by SetFrameMax.
func (r *Reader) FrameMax() uint32 { return r.frameMax }

// Buffered returns how many octets have been read from the underlying reader
// and not yet returned in a frame. When it is 0, the next ReadFrame reads
// (and may wait).
func (r *Reader) Buffered() int { return r.lim - r.pos }

// Fill waits for input when nothing is buffered: it reads once from the
// underlying reader and returns its error if no octet came. ReadFrame then
// returns a frame from what was read, or reads on. Calling Fill before
// ReadFrame changes nothing but where the reader waits: a goroutine that
// waits in Fill rather than in ReadFrame holds a shallower stack (Fill's frame
// is small), which lets an idle connection's goroutine keep the runtime's
// smallest stack. Errors are those of ReadFrame's reads: io.EOF when the
// stream ends at a frame boundary, timeouts and others as they come.
func (r *Reader) Fill() error {
	if r.fatal != nil || r.pos < r.lim {
		return nil
	}
	r.drained()
	return r.fill(1)
}

// ReadFrame reads the next frame. The returned Payload aliases the Reader's buffer
// and is valid only until the next call to ReadFrame.
//
// Errors come in three kinds:
//   - *Error, fatal: the frame declares a payload larger than frame_max
//     ({frame_too_large,Size,FrameMax-8}, reported before the payload is read), or
//     ends with an octet other than 0xCE ({invalid_frame_end_marker,Octet}). The
//     stream is out of sync; every later call returns the same error.
//   - *Error, non-fatal, returned with the complete offending Frame, which the
//     broker may inspect: an unknown frame type, a heartbeat with a payload, a
//     method frame shorter than 4 octets or a content header shorter than 12
//     (501 unknown_frame, as rabbit_command_assembler:analyze_frame/3 fails); a
//     heartbeat on a channel other than 0, or a content frame on channel 0 (505, as
//     rabbit_reader:handle_frame/4 answers in the running state). The next call
//     reads the following frame.
//   - anything the underlying reader returns, unchanged: io.EOF at a frame boundary,
//     io.ErrUnexpectedEOF when the stream ends inside a frame, timeouts and other
//     errors as they come. Nothing read so far is lost: after a timeout, the next
//     call resumes the frame where it stopped.
func (r *Reader) ReadFrame() (Frame, error) {
	if r.fatal != nil {
		return Frame{}, r.fatal
	}
	if r.pos == r.lim {
		r.drained()
	}
	if err := r.fill(HeaderSize); err != nil {
		return Frame{}, err
	}
	h := r.buf[r.pos : r.pos+HeaderSize]
	typ := h[0]
	ch := binary.BigEndian.Uint16(h[1:3])
	size := binary.BigEndian.Uint32(h[3:7])
	if limit := r.payloadLimit(); size > limit {
		r.fatal = frameError(typ, ch, nil, true, "frame_too_large",
			strconv.FormatUint(uint64(size), 10),
			strconv.FormatInt(int64(limit)-FrameSizeFudge, 10))
		return Frame{Type: typ, Channel: ch}, r.fatal
	}
	total := int(size) + FrameSizeFudge
	if err := r.fill(total); err != nil {
		return Frame{}, err
	}
	start := r.pos + HeaderSize
	end := start + int(size)
	f := Frame{Type: typ, Channel: ch, Payload: r.buf[start:end:end]}
	r.pos += total
	if marker := r.buf[end]; marker != FrameEnd {
		r.fatal = frameError(typ, ch, f.Payload, true, "invalid_frame_end_marker", strconv.Itoa(int(marker)))
		return f, r.fatal
	}
	if err := check(f); err != nil {
		return f, err
	}
	return f, nil
}

// payloadLimit is the largest payload accepted: frame_max, or with no frame_max the
// most an int can index.
func (r *Reader) payloadLimit() uint32 {
	const intMax = uint64(math.MaxInt) - FrameSizeFudge
	if r.frameMax == 0 {
		return uint32(min(uint64(math.MaxUint32), intMax))
	}
	return uint32(min(uint64(r.frameMax), intMax))
}

// check reports the frames RabbitMQ answers with a non-fatal error once they have
// been read whole (rabbit_command_assembler:analyze_frame/3 and
// rabbit_reader:handle_frame/4).
func check(f Frame) *Error {
	n := len(f.Payload)
	switch f.Type {
	case TypeMethod:
		if n < 4 { // class-id and method-id
			return frameError(f.Type, f.Channel, f.Payload, false, "unknown_frame")
		}
	case TypeHeader:
		if n < 12 { // class-id, weight and body size
			return frameError(f.Type, f.Channel, f.Payload, false, "unknown_frame")
		}
		if f.Channel == 0 {
			return UnexpectedFrame(f)
		}
	case TypeBody:
		if f.Channel == 0 {
			return UnexpectedFrame(f)
		}
	case TypeHeartbeat:
		if n > 0 {
			return frameError(f.Type, f.Channel, f.Payload, false, "unknown_frame")
		}
		if f.Channel != 0 {
			return UnexpectedFrame(f)
		}
	default:
		return frameError(f.Type, f.Channel, f.Payload, false, "unknown_frame")
	}
	return nil
}

// fill reads until buf[pos:lim] holds at least n bytes. An error that comes with
// enough data waits until the buffered data runs short.
func (r *Reader) fill(n int) error {
	empty := 0
	for r.lim-r.pos < n {
		if err := r.readErr; err != nil {
			r.readErr = nil
			if err == io.EOF && r.lim > r.pos {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if r.lim == len(r.buf) {
			r.makeRoom(n)
		}
		m, err := r.r.Read(r.buf[r.lim:])
		if m < 0 || m > len(r.buf)-r.lim {
			return errInvalidRead
		}
		r.lim += m
		r.burst += m
		r.readErr = err
		if m == 0 && err == nil {
			if empty++; empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// makeRoom frees space at the end of a full buffer for the n bytes the current frame
// needs from pos: it moves to a bigger buffer when the inline one is full (the
// connection is busy), when the frame does not fit, or when the stream filled a
// buffer smaller than maxReadAhead, and otherwise moves the unconsumed bytes to the
// front.
func (r *Reader) makeRoom(n int) {
	if r.pooled == nil || n > len(r.buf) || len(r.buf) < maxReadAhead {
		r.grow(n)
		return
	}
	r.lim = copy(r.buf, r.buf[r.pos:r.lim])
	r.pos = 0
}

// grow moves the unconsumed bytes to a bigger buffer: twice the current one, at
// least readAheadSize; no more than maxReadAhead or what the current frame needs,
// whichever is more, once that is less than twice the current one; never more than
// a frame of frame_max octets.
func (r *Reader) grow(n int) {
	want := max(readAheadSize, 2*len(r.buf))
	if want > n {
		want = max(n, min(want, maxReadAhead))
	}
	limit := 0
	if r.frameMax != 0 {
		limit = int(r.payloadLimit()) + FrameSizeFudge
		want = min(want, limit)
	}
	want = max(want, r.lim-r.pos+1)
	p := getBuffer(want, limit)
	r.lim = copy(*p, r.buf[r.pos:r.lim])
	r.pos = 0
	if r.pooled != nil {
		putBuffer(r.pooled)
	}
	r.pooled = p
	r.buf = *p
}

// drained is called when everything buffered has been consumed: it moves to a
// bigger buffer if the stream filled this one, and otherwise hands the heap buffer
// back unless the connection is busy and the buffer small.
func (r *Reader) drained() {
	burst := r.burst
	full := r.lim == len(r.buf) // the last read filled the buffer: more is likely waiting
	r.pos, r.lim, r.burst = 0, 0, 0
	if full && len(r.buf) < maxReadAhead && (r.frameMax == 0 || int(r.payloadLimit())+FrameSizeFudge > len(r.buf)) {
		r.grow(1) // as makeRoom would have, had the last frame straddled the end
		return
	}
	if r.pooled != nil && (len(r.buf) > keepBufferSize || burst <= smallBufferSize) {
		putBuffer(r.pooled)
		r.pooled = nil
		r.buf = r.small[:]
	}
}
