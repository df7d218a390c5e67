package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by operations on a Store after Close.
var ErrClosed = errors.New("store: closed")

// ErrDuplicate is returned by Publish for a (queue, id) pair that is
// already live in the store.
var ErrDuplicate = errors.New("store: message id already live in queue")

// Store is the message log of one directory. Its methods are safe for
// concurrent use; one writer goroutine, started by Open and joined by
// Close, is the only one that writes, syncs, removes or compacts files.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	// mu guards everything below it up to the writer-only fields: the
	// pending batch, the segment accounts and the index. It is the only
	// lock of the package; completions run without it.
	mu       sync.Mutex
	space    *sync.Cond // on mu: the writer took a batch (Publish waits for room)
	closed   bool
	err      error // sticky: a failed write or sync stops the store (fsyncgate)
	pend     *batch
	inflight *batch // being written by the writer; Read may copy from it
	spare    *batch
	segs     map[uint32]*segment
	head     *segment // the active segment, where appends go
	// queues indexes the live targets: queue → id → where the record is.
	queues map[uint32]*queueIndex
	live   int64 // live targets in all queues
	// hkDirty says a segment may have become removable or compactable.
	hkDirty bool

	wake chan struct{} // capacity 1: work is pending or the store closes
	done chan struct{} // closed when the writer has exited

	// Writer-only state.
	wseg     uint32         // highest segment the writer has written to
	unsynced []*segment     // segments written since their last fdatasync
	scratch  []byte         // compaction read buffer
	sum      summaryBuilder // summary of the segment being written

	stats struct {
		fdatasyncs, writes, bytesWritten, records atomic.Int64
		removed, compactions, compactedBytes      atomic.Int64
		summaryBytes                              atomic.Int64
	}
}

// entry says where the publish record of one live target is.
type entry struct {
	seg   uint32
	off   uint32
	size  uint32
	flags uint8
}

// Ref locates a publish record: segment number, offset in the segment
// file and record length. It is valid until compaction moves the record;
// Read(queue, id) always finds the current place.
type Ref struct {
	Segment uint32
	Offset  uint32
	Length  uint32
}

// Open opens (creating it if needed) the store in dir, takes its lock,
// recovers the live messages and starts the writer. A torn or corrupt tail
// of the last segment is cut at the last valid record, logged and
// reported in Recovered.Truncated; damage anywhere else, or a file that is
// not a segment of this format, fails Open with a *CorruptError and
// changes nothing (damage in a live record of a segment replayed from its
// summary is found when RecoveredQueue.Each reads it). Open reads no
// message data: Recovered.Queues says where it is. A directory held by
// another Store fails with ErrLocked.
func Open(dir string, opts Options) (*Store, *Recovered, error) {
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	s := &Store{
		dir:    dir,
		opts:   opts,
		log:    opts.Logger,
		lock:   lock,
		pend:   new(batch),
		spare:  new(batch),
		segs:   make(map[uint32]*segment),
		queues: make(map[uint32]*queueIndex),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	s.space = sync.NewCond(&s.mu)
	rec, err := s.recover()
	if err != nil {
		for _, g := range s.segs {
			if g.f != nil {
				g.f.Close()
			}
		}
		lock.Close()
		return nil, nil, err
	}
	s.hkDirty = true
	go s.run()
	return s, rec, nil
}

// Dir returns the directory of the store.
func (s *Store) Dir() string { return s.dir }

// Close writes and syncs everything pending (acks included), waits for the
// writer to exit, closes the files and releases the lock. It returns the
// error that stopped the store, if one did. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.space.Broadcast()
	s.mu.Unlock()
	if !already {
		s.signal()
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if !already {
		s.lock.Close()
	}
	return s.err
}

// signal wakes the writer without blocking.
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// usable returns why the store takes no more work, or nil. Call with mu held.
func (s *Store) usable() error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Stats is a snapshot of a Store's counters, for benchmarks and the
// management API.
type Stats struct {
	Segments        int   // segment files, the active one included
	DiskBytes       int64 // bytes in segment files (pending ones included)
	Queues          int   // queues with live messages
	LiveMessages    int64 // live (queue, id) targets
	LiveBytes       int64 // bytes of records with a live target
	Fdatasyncs      int64 // fdatasync calls on segment files
	Writes          int64 // write batches (one or more write(2) each)
	BytesWritten    int64 // bytes written to segment files
	Records         int64 // records appended
	SegmentsRemoved int64 // segment files removed (settled or compacted)
	Compactions     int64 // segments compacted
	CompactedBytes  int64 // bytes copied forward by compaction
	SummaryBytes    int64 // bytes written to segment summaries
}

// Stats returns the current counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	st := Stats{Segments: len(s.segs), Queues: len(s.queues), LiveMessages: s.live}
	for _, g := range s.segs {
		st.DiskBytes += g.size
		st.LiveBytes += g.liveBytes
	}
	s.mu.Unlock()
	st.Fdatasyncs = s.stats.fdatasyncs.Load()
	st.Writes = s.stats.writes.Load()
	st.BytesWritten = s.stats.bytesWritten.Load()
	st.Records = s.stats.records.Load()
	st.SegmentsRemoved = s.stats.removed.Load()
	st.Compactions = s.stats.compactions.Load()
	st.CompactedBytes = s.stats.compactedBytes.Load()
	st.SummaryBytes = s.stats.summaryBytes.Load()
	return st
}
