package store

import (
	"errors"
	"fmt"
	"os"
)

// Recovery reads messages back in chunks of at most recoverChunk entries,
// and one read(2) covers the records of a chunk that lie together in a
// segment, up to recoverBlock bytes: a queue of any length comes back
// with a bounded amount read ahead, so the caller's own bounds (a queue's
// paging window) are what limits memory.
const (
	recoverChunk = 4096
	recoverBlock = 1 << 20
)

// RecoveredQueue is one queue's live messages as Open found them. Its
// data stays on disk until Each reads it.
type RecoveredQueue struct {
	s     *Store
	queue uint32
	// Len is the number of live messages Open found, LastID the highest
	// of their ids.
	Len    int
	LastID uint64
}

// Each calls fn with the queue's live messages in id order, up to LastID,
// reading their data from the segment files a chunk at a time (each
// record's CRC checked, so a record replayed from a summary at Open is
// checked here). Message.Data belongs to fn: it is not reused, and may be
// kept. A message settled while Each runs may still be passed to fn. Each
// stops at fn's first error and returns it; a damaged record gives a
// *CorruptError. Each may run while the store works: a record moved by
// compaction is read again where it went.
func (r *RecoveredQueue) Each(fn func(Message) error) error {
	var (
		next  uint64 // the ids below it were passed to fn
		chunk []qentry
		tries int
	)
	for {
		var pending map[uint64][]byte
		var files map[uint32]*os.File
		s := r.s
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		chunk = chunk[:0]
		if q := s.queues[r.queue]; q != nil {
			chunk = q.after(chunk, next, r.LastID, recoverChunk)
		}
		if len(chunk) == 0 {
			s.mu.Unlock()
			return nil
		}
		files = make(map[uint32]*os.File, 2)
		for _, x := range chunk {
			g := s.segs[x.e.seg]
			if int64(x.e.off)+int64(x.e.size) > g.written {
				// Not on disk yet (published after Open): copy it now.
				d, err := s.readPending(g, x.e)
				if err != nil {
					s.mu.Unlock()
					return err
				}
				if pending == nil {
					pending = make(map[uint64][]byte)
				}
				pending[x.id] = d
				continue
			}
			files[x.e.seg] = g.f
		}
		s.mu.Unlock()

		passed, last, err := readChunk(chunk, files, pending, fn)
		if passed > 0 {
			next, tries = last+1, 0
		}
		if errors.Is(err, os.ErrClosed) {
			// Compaction moved a record and closed its old file between
			// the lookup and the read: look again from where it stopped.
			if tries++; tries > 3 {
				return fmt.Errorf("store: recover queue %d: records kept moving", r.queue)
			}
			continue
		}
		if err != nil {
			return err
		}
	}
}

// readChunk reads the records of chunk, in blocks of neighbouring records,
// and passes each message to fn. It returns how many it passed and the id
// of the last one.
func readChunk(chunk []qentry, files map[uint32]*os.File, pending map[uint64][]byte, fn func(Message) error) (passed int, done uint64, err error) {
	for i := 0; i < len(chunk); {
		x := chunk[i]
		if d, ok := pending[x.id]; ok {
			if err := fn(Message{ID: x.id, Data: d, Delivered: x.e.flags&flagDelivered != 0}); err != nil {
				return passed, done, err
			}
			passed, done = passed+1, x.id
			i++
			continue
		}
		// The block: this record and those after it in the same segment,
		// in ascending offsets, while the span stays within recoverBlock
		// (or is this one record).
		start, end := int64(x.e.off), int64(x.e.off)+int64(x.e.size)
		j := i + 1
		for ; j < len(chunk); j++ {
			y := chunk[j]
			if _, ok := pending[y.id]; ok || y.e.seg != x.e.seg || int64(y.e.off) < end ||
				int64(y.e.off)+int64(y.e.size)-start > recoverBlock {
				break
			}
			end = int64(y.e.off) + int64(y.e.size)
		}
		f := files[x.e.seg]
		if f == nil {
			return passed, done, os.ErrClosed
		}
		block := make([]byte, end-start)
		if _, err := f.ReadAt(block, start); err != nil {
			if errors.Is(err, os.ErrClosed) {
				return passed, done, err
			}
			return passed, done, fmt.Errorf("store: read %s at %d: %w", f.Name(), start, err)
		}
		for ; i < j; i++ {
			y := chunk[i]
			off := int64(y.e.off) - start
			rec := block[off : off+int64(y.e.size) : off+int64(y.e.size)]
			k, body, n, reason := parseRecord(rec)
			if reason == "" && (k != kindPublish || n != len(rec)) {
				reason = "not the publish record the index lists"
			}
			if reason != "" {
				return passed, done, &CorruptError{File: f.Name(), Offset: int64(y.e.off), Reason: reason, Err: ErrCorrupt}
			}
			_, d := publishTargets(body)
			if err := fn(Message{ID: y.id, Data: body[d:], Delivered: y.e.flags&flagDelivered != 0}); err != nil {
				return passed, done, err
			}
			passed, done = passed+1, y.id
		}
	}
	return passed, done, nil
}
