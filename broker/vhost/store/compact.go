package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// housekeep removes settled segments and compacts one sparse segment. The
// writer calls it after each batch, so files it removes are never ones it
// is about to write, and the copies compaction makes are written (and
// synced) by the next batch before their originals can be removed.
//
// A segment is removed when it is sealed, holds no live message, and none
// of its settle records refers to a publish in an earlier segment that
// still exists (else recovery would bring that publish back). RabbitMQ's
// rabbit_msg_store deletes a file once its valid total size is zero, for
// the same reason only after the index no longer needs it.
func (s *Store) housekeep() error {
	s.mu.Lock()
	if !s.hkDirty || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.hkDirty = false
	var rm []*segment
	var cand *segment
	for _, g := range s.segs {
		if g.num >= s.wseg || g == s.head || g.outRefs > 0 {
			continue
		}
		if g.live == 0 {
			rm = append(rm, g)
			continue
		}
		if s.opts.CompactBelow > 0 && !g.compacting &&
			float64(g.liveBytes) < s.opts.CompactBelow*float64(g.size) &&
			(cand == nil || g.num < cand.num) {
			cand = g
		}
	}
	files := make([]*os.File, len(rm))
	for i, g := range rm {
		delete(s.segs, g.num)
		files[i], g.f = g.f, nil // Read finds no entry pointing here any more
	}
	if cand != nil {
		cand.compacting = true
	}
	s.mu.Unlock()

	if len(rm) > 0 {
		if err := s.removeSegments(rm, files); err != nil {
			return err
		}
	}
	if cand != nil {
		return s.compact(cand)
	}
	return nil
}

// removeSegments deletes the files of segments already taken out of the
// index, syncs the directory, then releases the pins their publishes held
// on later segments (only then: a later segment's removal must not reach
// the disk before this one's). Writer only.
func (s *Store) removeSegments(rm []*segment, files []*os.File) error {
	for i, g := range rm {
		s.unsynced = slices.DeleteFunc(s.unsynced, func(u *segment) bool { return u == g })
		if files[i] != nil {
			files[i].Close()
		}
	}
	for _, g := range rm {
		path := filepath.Join(s.dir, segmentName(g.num))
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("store: remove segment: %w", err)
		}
		if err := os.Remove(filepath.Join(s.dir, summaryName(g.num))); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("store: remove summary: %w", err)
		}
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	s.mu.Lock()
	for _, g := range rm {
		for a, n := range g.ackers {
			if ag := s.segs[a]; ag != nil {
				ag.outRefs -= int64(n)
				if ag.outRefs == 0 {
					s.hkDirty = true
				}
			}
		}
	}
	s.mu.Unlock()
	s.stats.removed.Add(int64(len(rm)))
	return nil
}

// compact copies the live records of g to the active segment and leaves
// g to be removed once those copies are synced. Records keep their ids,
// so a queue's order (by id) is unchanged; a record is rewritten with
// only its live targets and their current delivered flags. Writer only.
func (s *Store) compact(g *segment) error {
	// g is sealed and fully written: read it without the lock.
	s.mu.Lock()
	f, size := g.f, g.size
	s.mu.Unlock()
	buf := slices.Grow(s.scratch[:0], int(size))[:size]
	if _, err := f.ReadAt(buf, 0); err != nil {
		return fmt.Errorf("store: compact %s: %w", f.Name(), err)
	}
	s.scratch = buf[:0]

	type rec struct {
		off  uint32
		body []byte
	}
	var pubs []rec
	for off := int64(segmentHeader); off < size; {
		k, body, n, reason := parseRecord(buf[off:])
		if reason != "" {
			return &CorruptError{File: f.Name(), Offset: off, Reason: reason, Err: ErrCorrupt}
		}
		if k == kindPublish {
			pubs = append(pubs, rec{uint32(off), body})
		}
		off += int64(n)
	}

	var moved, copied int64
	s.mu.Lock()
	var targets []Target
	var flags []uint8
	for _, r := range pubs {
		targets, flags = targets[:0], flags[:0]
		t, dataOff := publishTargets(r.body)
		for i := range t {
			tg, _ := publishTarget(r.body, i)
			e, ok := s.queues[tg.Queue].get(tg.ID)
			if ok && e.seg == g.num && e.off == r.off {
				targets = append(targets, tg)
				flags = append(flags, e.flags)
				g.settleTarget(e.off, e.size)
				s.live--
			}
		}
		if len(targets) == 0 {
			continue
		}
		data := r.body[dataOff:]
		n := publishSize(len(targets), len(data))
		ng, off, dst := s.reserve(n)
		copy(dst[putPublishPrefix(dst, targets, flags, len(data)):], data)
		sealRecord(dst)
		s.index(targets, flags, ng, uint32(off), uint32(n))
		moved += int64(len(targets))
		copied += int64(n)
	}
	if moved > 0 {
		s.pend.forceSync = true
	}
	s.hkDirty = true
	s.mu.Unlock()
	s.signal()
	s.stats.compactions.Add(1)
	s.stats.compactedBytes.Add(copied)
	s.log.Debug(fmt.Sprintf("message store: compacted segment %s: %d messages moved (%d bytes)", f.Name(), moved, copied), "file", f.Name(),
		"size", size, "moved_messages", moved, "copied_bytes", copied)
	return nil
}
