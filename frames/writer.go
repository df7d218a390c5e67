package frames

import (
	"errors"
	"io"
	"math"
	"net"
	"sync"
)

// flushThreshold bounds what a Writer buffers: a frame that would take the buffer
// past it flushes what is buffered first, and a frame bigger than it is written
// straight through.
const flushThreshold = 64 << 10

var frameEndOctet = [1]byte{FrameEnd}

var errPayloadTooLarge = errors.New("frames: payload longer than 2^32-1 octets")

// Writer writes frames to one connection. It is safe for concurrent use: every frame
// a call writes reaches the stream whole and contiguous, and the frames of one
// WriteFrames call are never separated by another caller's frame. This is what lets
// the heartbeat sender share the connection with the channels (one writer per
// connection, as RabbitMQ's rabbit_writer and socket port guarantee).
//
// Frames are buffered until Flush, WriteHeartbeat, or a frame that would take the
// buffer past 64 KiB. The buffer is taken only when a frame is buffered and handed
// back on every flush, so an idle connection holds none.
//
// Locking: a single mutex, held for the whole of each call, including the write to
// the underlying io.Writer. A peer that stops reading therefore blocks every caller
// of this Writer, heartbeats included, until the write completes or fails (use a
// write deadline on the connection to bound it); other connections are unaffected.
// The mutex is a leaf: the Writer takes no other lock and calls nothing but the
// underlying Write while holding it, so callers may hold their own locks when they
// call it without risking deadlock (a blocked write then keeps those locks too).
//
// The first error from the underlying writer is sticky: a frame may have been cut
// short, so every later call returns that error.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte  // buffered frames; len(buf) == 0 when pooled == nil
	pooled *[]byte // the buffer in use, nil when nothing is buffered
	hdr    [HeaderSize]byte
	err    error
}

// NewWriter returns a Writer writing to w; w should not be buffered.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// WriteFrame buffers one frame. Call Flush to send it.
func (w *Writer) WriteFrame(typ uint8, ch uint16, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.writeFrame(typ, ch, payload)
}

// WriteFrames buffers frames that must stay together, such as a method frame with
// its content header and body frames: no other caller's frame can come between
// them. Call Flush to send them.
func (w *Writer) WriteFrames(fs ...Frame) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	for i := range fs {
		if err := w.writeFrame(fs[i].Type, fs[i].Channel, fs[i].Payload); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes everything buffered to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.flush()
}

// WriteHeartbeat writes the heartbeat frame 08 00 00 00 00 00 00 CE after whatever
// is buffered, and flushes. It allocates nothing.
func (w *Writer) WriteHeartbeat() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		if _, err := w.w.Write(heartbeatFrame[:]); err != nil {
			w.err = err
			return err
		}
		return nil
	}
	w.reserve(len(heartbeatFrame))
	w.buf = append(w.buf, heartbeatFrame[:]...)
	return w.flush()
}

// writeFrame buffers or writes one frame; w.mu must be held.
func (w *Writer) writeFrame(typ uint8, ch uint16, payload []byte) error {
	if uint64(len(payload)) > math.MaxUint32 {
		return errPayloadTooLarge
	}
	n := len(payload) + FrameSizeFudge
	if len(w.buf) > 0 && len(w.buf)+n > flushThreshold {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if n > flushThreshold {
		return w.writeThrough(typ, ch, payload)
	}
	w.reserve(n)
	size := uint32(len(payload))
	w.buf = append(w.buf, typ, byte(ch>>8), byte(ch), byte(size>>24), byte(size>>16), byte(size>>8), byte(size))
	w.buf = append(w.buf, payload...)
	w.buf = append(w.buf, FrameEnd)
	return nil
}

// writeThrough writes a large frame without copying its payload; nothing is
// buffered and w.mu is held.
func (w *Writer) writeThrough(typ uint8, ch uint16, payload []byte) error {
	size := uint32(len(payload))
	w.hdr = [HeaderSize]byte{typ, byte(ch >> 8), byte(ch), byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}
	bufs := net.Buffers{w.hdr[:], payload, frameEndOctet[:]}
	if _, err := bufs.WriteTo(w.w); err != nil {
		w.err = err
		return err
	}
	return nil
}

// reserve makes room for n more bytes in the buffer; w.mu must be held.
func (w *Writer) reserve(n int) {
	if w.pooled != nil && len(w.buf)+n <= cap(w.buf) {
		return
	}
	p := getBuffer(max(len(w.buf)+n, 2*cap(w.buf)), 0)
	buf := append((*p)[:0], w.buf...)
	if w.pooled != nil {
		putBuffer(w.pooled)
	}
	w.pooled, w.buf = p, buf
}

// flush writes the buffer out and hands it back; w.mu must be held.
func (w *Writer) flush() error {
	if w.pooled == nil {
		return nil
	}
	_, err := w.w.Write(w.buf)
	putBuffer(w.pooled)
	w.pooled, w.buf = nil, nil
	if err != nil {
		w.err = err
	}
	return err
}
