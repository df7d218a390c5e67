package store

import (
	"errors"
	"fmt"
	"os"
)

// ErrNotFound is returned by Read for a (queue, id) pair that is not live.
var ErrNotFound = errors.New("store: message not found")

// Read returns a copy of the data of a live message, for paging bodies
// back in (issue 12). It finds the record wherever it is: in a segment
// file, or still in memory waiting for the writer. The record's CRC is
// checked on the way.
func (s *Store) Read(queue uint32, id uint64) ([]byte, error) {
	// A record can move (compaction) and its old file close between
	// the lookup and the read: look again then.
	for range 3 {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		e, ok := s.queues[queue].get(id)
		if !ok {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: queue %d id %d", ErrNotFound, queue, id)
		}
		g := s.segs[e.seg]
		if int64(e.off)+int64(e.size) > g.written {
			data, err := s.readPending(g, e)
			s.mu.Unlock()
			return data, err
		}
		f := g.f
		s.mu.Unlock()
		data, err := readRecordAt(f, e)
		if errors.Is(err, os.ErrClosed) {
			continue
		}
		return data, err
	}
	return nil, fmt.Errorf("store: read queue %d id %d: record kept moving", queue, id)
}

// readPending copies a record's data from the pending or in-flight batch.
// Call with mu held.
func (s *Store) readPending(g *segment, e entry) ([]byte, error) {
	for _, b := range []*batch{s.inflight, s.pend} {
		if b == nil {
			continue
		}
		for _, c := range b.chunks {
			start := int64(e.off) - c.off
			if c.seg != g || start < 0 || start+int64(e.size) > int64(len(c.buf)) {
				continue
			}
			return publishData(c.buf[start:start+int64(e.size)], g, e)
		}
	}
	return nil, fmt.Errorf("store: segment %d offset %d: record neither written nor pending", e.seg, e.off)
}

// readRecordAt reads and checks the publish record e from f.
func readRecordAt(f *os.File, e entry) ([]byte, error) {
	if f == nil {
		return nil, os.ErrClosed
	}
	rec := make([]byte, e.size)
	if _, err := f.ReadAt(rec, int64(e.off)); err != nil {
		return nil, fmt.Errorf("store: read %s at %d: %w", f.Name(), e.off, err)
	}
	data, err := publishData(rec, nil, e)
	if err != nil {
		return nil, &CorruptError{File: f.Name(), Offset: int64(e.off), Reason: err.Error(), Err: ErrCorrupt}
	}
	return data, nil
}

// publishData checks a publish record and returns (a copy of, when g is
// not nil) its data.
func publishData(rec []byte, g *segment, e entry) ([]byte, error) {
	k, body, _, reason := parseRecord(rec)
	if reason == "" && k != kindPublish {
		reason = "not a publish record"
	}
	if reason != "" {
		return nil, fmt.Errorf("segment %d offset %d: %s", e.seg, e.off, reason)
	}
	_, dataOff := publishTargets(body)
	data := body[dataOff:]
	if g != nil {
		data = append([]byte(nil), data...)
	}
	return data, nil
}
