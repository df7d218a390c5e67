package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// batch is what the writer takes in one go: appended bytes, grouped in
// one chunk per segment, and the completions they carry.
type batch struct {
	chunks []chunk
	bytes  int
	dones  []func(error)
	// sync: a record in the batch waits for fdatasync (a SyncData
	// publish with a completion).
	sync bool
	// forceSync: fdatasync even in SyncWrite mode (Sync, compaction).
	forceSync bool
	bufs      [][]byte // recycled chunk buffers
}

type chunk struct {
	seg *segment
	off int64
	buf []byte
}

func (b *batch) empty() bool { return len(b.chunks) == 0 && len(b.dones) == 0 }

// reset empties b for reuse, keeping buffers of a reasonable size.
func (b *batch) reset() {
	for i := range b.chunks {
		if buf := b.chunks[i].buf; cap(buf) <= 4<<20 {
			b.bufs = append(b.bufs, buf[:0])
		}
		b.chunks[i] = chunk{}
	}
	b.chunks = b.chunks[:0]
	clear(b.dones)
	b.dones = b.dones[:0]
	b.bytes = 0
	b.sync, b.forceSync = false, false
}

// reserve appends n bytes to the log and returns where they go: the
// segment, the offset, and the slice of the pending batch to fill (valid
// until mu is released). The active segment is sealed first when the
// record would take it past SegmentSize (a record alone in a fresh segment
// may exceed it). Call with mu held.
func (s *Store) reserve(n int) (g *segment, off int64, dst []byte) {
	g = s.head
	if g.size > segmentHeader && g.size+int64(n) > s.opts.SegmentSize {
		g = s.roll()
	}
	off = g.size
	g.size += int64(n)
	return g, off, s.appendTo(g, off, n)
}

// appendTo grows the pending chunk of g (starting one if needed) by n bytes.
func (s *Store) appendTo(g *segment, off int64, n int) []byte {
	b := s.pend
	var c *chunk
	if k := len(b.chunks); k > 0 && b.chunks[k-1].seg == g {
		c = &b.chunks[k-1]
	} else {
		var buf []byte
		if k := len(b.bufs); k > 0 {
			buf, b.bufs = b.bufs[k-1], b.bufs[:k-1]
		}
		b.chunks = append(b.chunks, chunk{seg: g, off: off, buf: buf})
		c = &b.chunks[len(b.chunks)-1]
	}
	start := len(c.buf)
	c.buf = slices.Grow(c.buf, n)[:start+n]
	b.bytes += n
	return c.buf[start:]
}

// roll seals the active segment and starts the next; its header is the
// first thing appended to it. The writer creates the file when it gets
// there. Call with mu held.
func (s *Store) roll() *segment {
	g := &segment{num: s.head.num + 1, size: segmentHeader}
	s.segs[g.num] = g
	s.head = g
	putSegmentHeader(s.appendTo(g, 0, segmentHeader), g.num)
	s.hkDirty = true
	return g
}

// waitRoom blocks while the pending batch is over MaxPending, so a writer
// that cannot keep up slows its publishers instead of growing memory.
// Call with mu held.
func (s *Store) waitRoom() {
	for s.pend.bytes >= s.opts.MaxPending && s.usable() == nil {
		s.space.Wait()
	}
}

// run is the writer goroutine. Group commit by draining: it takes
// everything pending, writes it, makes it durable with one fdatasync when
// a record needs it, completes everything the batch carried, then looks
// again; there is no timer. RabbitMQ's rabbit_msg_store does the same: it
// syncs and confirms when its mailbox is empty (next_state/1 returns a
// timeout of 0 while cref_to_msg_ids holds unconfirmed messages).
func (s *Store) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for s.pend.empty() && !s.closed {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if s.pend.empty() && s.closed {
			err := s.err
			s.mu.Unlock()
			s.shutdown(err)
			return
		}
		b := s.pend
		s.pend, s.spare = s.spare, nil
		s.inflight = b
		failed := s.err
		s.space.Broadcast()
		s.mu.Unlock()

		if s.opts.BeforeBatch != nil {
			s.opts.BeforeBatch()
		}
		err := failed
		if err == nil {
			err = s.writeBatch(b)
		}

		s.mu.Lock()
		if err == nil {
			for _, c := range b.chunks {
				c.seg.written = c.off + int64(len(c.buf))
			}
		}
		s.inflight = nil
		s.mu.Unlock()
		if err != nil && failed == nil {
			s.fail(err)
		}

		for _, done := range b.dones {
			if done != nil {
				done(err)
			}
		}
		b.reset()
		s.mu.Lock()
		s.spare = b
		s.mu.Unlock()
		if err == nil {
			if err := s.housekeep(); err != nil {
				s.fail(err)
			}
		}
	}
}

// fail makes err the store's sticky error.
func (s *Store) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
		s.log.Error(fmt.Sprintf("message store %s stopped: %v", s.dir, err), "dir", s.dir, "error", err)
	}
	s.space.Broadcast()
	s.mu.Unlock()
}

// writeBatch writes b's chunks in order, creating segment files as it
// reaches them, and syncs as b requires. Writer only.
func (s *Store) writeBatch(b *batch) error {
	for _, c := range b.chunks {
		g := c.seg
		if g.f == nil {
			if err := s.createSegment(g); err != nil {
				return err
			}
		}
		if _, err := g.f.WriteAt(c.buf, c.off); err != nil {
			return fmt.Errorf("store: write %s: %w", g.f.Name(), err)
		}
		if s.sum.seg != g {
			// Writing has moved on to g: the previous segment is sealed
			// (and was synced by createSegment).
			if s.sum.seg != nil {
				s.sum.write(s)
			}
			s.sum.reset(g, s.opts.SegmentSize)
		}
		s.sum.addChunk(c.off, c.buf)
		if n := len(s.unsynced); n == 0 || s.unsynced[n-1] != g {
			s.unsynced = append(s.unsynced, g)
		}
		s.stats.bytesWritten.Add(int64(len(c.buf)))
	}
	s.stats.writes.Add(1)
	if b.forceSync || (b.sync && s.opts.Sync == SyncData) {
		return s.syncWritten()
	}
	return nil
}

// createSegment creates the file of a new segment. The segment before it
// is synced first and the directory after, in both sync modes (it costs
// one fdatasync per segment), so only the last segment can ever hold a
// torn tail, the rule recovery relies on (etcd's wal syncs a file before
// cutting the next), and a summary is never written for data that is
// not on disk. Writer only.
func (s *Store) createSegment(g *segment) error {
	if err := s.syncWritten(); err != nil {
		return err
	}
	path := filepath.Join(s.dir, segmentName(g.num))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("store: create segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.mu.Lock()
	g.f = f
	s.mu.Unlock()
	if g.num > s.wseg {
		s.wseg = g.num
	}
	return nil
}

// syncWritten fdatasyncs every segment written since its last sync. Writer only.
func (s *Store) syncWritten() error {
	for _, g := range s.unsynced {
		if err := fdatasync(g.f); err != nil {
			return fmt.Errorf("store: fdatasync %s: %w", g.f.Name(), err)
		}
		s.stats.fdatasyncs.Add(1)
	}
	clear(s.unsynced)
	s.unsynced = s.unsynced[:0]
	return nil
}

// shutdown syncs what was written since the last sync (acks included, so
// a clean stop loses nothing) and closes the segment files. Writer only,
// on its way out.
func (s *Store) shutdown(failed error) {
	if failed == nil {
		if err := s.syncWritten(); err != nil {
			s.fail(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.segs {
		if g.f != nil {
			g.f.Close()
			g.f = nil
		}
	}
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// syncDir fsyncs a directory, making file creations, renames and removals
// in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync directory: %w", err)
	}
	err = d.Sync()
	d.Close()
	if err != nil {
		return fmt.Errorf("store: sync directory %s: %w", dir, err)
	}
	return nil
}
