package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Recovered is what Open found in the directory.
type Recovered struct {
	// Queues holds, per queue with live messages, what it takes to read
	// them back in publish order (ascending id), a bounded block at a time.
	Queues map[uint32]*RecoveredQueue
	// Messages is the number of live messages in all queues.
	Messages int64
	// Segments and Records count the segment files and records scanned;
	// Bytes is the size of the segments after any cut.
	Segments int
	Records  int64
	Bytes    int64
	// Summaries counts the segments replayed from their summary
	// instead of being scanned.
	Summaries int
	// Truncated says what was cut from the end of the last segment, or
	// is nil when the log ended on a record boundary.
	Truncated *Truncation
	// Duration is the time recovery took.
	Duration time.Duration
}

// Message is one live message of a queue after recovery.
type Message struct {
	ID   uint64
	Data []byte
	// Delivered is set when a delivered record (or flag) was found: the
	// message was handed to a consumer and not acked before the stop, so
	// it goes back with redelivered=true, as RabbitMQ does.
	Delivered bool
}

// Truncation describes a torn or corrupt tail cut from the last segment.
type Truncation struct {
	File    string // the segment file
	Offset  int64  // where the first bad record started: the new file size
	Dropped int64  // bytes cut
	Reason  string // why the record at Offset was not valid
}

// recover rebuilds the index from the segments in s.dir, in order: a
// sealed segment from its summary when it has a usable one, else by a
// scan (which writes the summary for next time); the last segment always
// by a scan, its torn tail cut. Only Open calls it, before the writer
// starts.
func (s *Store) recover() (*Recovered, error) {
	start := time.Now()
	nums, err := listSegments(s.dir)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("store: %w", err)
	}
	rec := &Recovered{Queues: make(map[uint32]*RecoveredQueue)}
	var buf []byte
	var scanned summaryBuilder // for sealed segments without a summary
	for i, num := range nums {
		last := i == len(nums)-1
		path := filepath.Join(s.dir, segmentName(num))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("store: open segment: %w", err)
		}
		g := &segment{num: num, f: f}
		s.segs[num] = g
		rec.Segments++
		if !last {
			n, size, err := s.trySummary(g, path)
			if err != nil {
				return nil, err
			}
			if n >= 0 {
				g.size, g.written = size, size
				rec.Records += n
				rec.Bytes += size
				rec.Summaries++
				continue
			}
		}
		buf, err = readAll(f, buf)
		if err != nil {
			return nil, fmt.Errorf("store: read %s: %w", path, err)
		}

		if len(buf) < segmentHeader || allZero(buf[:segmentHeader]) {
			// A segment whose header never made it to disk: only the
			// last one can be like that, right after its creation.
			if !last {
				return nil, &CorruptError{File: path, Reason: "incomplete segment header", Err: ErrCorrupt}
			}
			if !allZero(buf) {
				if len(buf) >= segmentHeader {
					return nil, &CorruptError{File: path, Reason: "zeroed segment header with data after it", Err: ErrCorrupt}
				}
				if r := checkSegmentHeaderPrefix(buf, num); r != "" {
					return nil, &CorruptError{File: path, Reason: r, Err: ErrForeign}
				}
			}
			if err := s.dropEmptyLast(g, path, len(buf), rec); err != nil {
				return nil, err
			}
			rec.Segments--
			continue
		}
		if r := checkSegmentHeader(buf[:segmentHeader], num); r != "" {
			return nil, &CorruptError{File: path, Reason: r, Err: ErrForeign}
		}

		// The last segment's summary goes on in the writer; another's is
		// written now, so the next recovery need not scan it.
		sb := &scanned
		if last {
			sb = &s.sum
		}
		sb.reset(g, s.opts.SegmentSize)
		off := int64(segmentHeader)
		end := int64(len(buf))
		for off < end {
			k, body, n, reason := parseRecord(buf[off:])
			if reason != "" {
				if !last {
					return nil, &CorruptError{File: path, Offset: off, Reason: reason, Err: ErrCorrupt}
				}
				if err := s.cutTail(g, path, off, end, reason, rec); err != nil {
					return nil, err
				}
				end = off
				break
			}
			s.replay(k, body, g, uint32(off), uint32(n))
			sb.add(off, buf[off:off+int64(n)])
			rec.Records++
			off += int64(n)
		}
		g.size, g.written = end, end
		rec.Bytes += end
		if !last && !s.opts.noSummaries {
			sb.write(s)
		}
	}
	s.removeOrphanSummaries()

	for _, num := range nums {
		if g := s.segs[num]; g != nil {
			s.head = g
			s.wseg = num
		}
	}
	if s.head == nil {
		g := &segment{num: 1}
		s.segs[1] = g
		s.head = g
		g.size = segmentHeader
		putSegmentHeader(s.appendTo(g, 0, segmentHeader), 1)
	}
	for queue, q := range s.queues {
		var last uint64
		q.each(func(id uint64, _ entry) { last = id })
		rec.Queues[queue] = &RecoveredQueue{s: s, queue: queue, Len: q.live, LastID: last}
		rec.Messages += int64(q.live)
	}
	rec.Duration = time.Since(start)
	s.log.Info(fmt.Sprintf("message store %s: recovered %d messages of %d queues from %d segment files (%d records) in %v",
		s.dir, rec.Messages, len(rec.Queues), rec.Segments, rec.Records, rec.Duration.Round(time.Microsecond)),
		"dir", s.dir, "segments", rec.Segments,
		"records", rec.Records, "queues", len(rec.Queues), "messages", rec.Messages,
		"duration", rec.Duration)
	return rec, nil
}

// trySummary replays a sealed segment from its summary. It returns the
// records replayed and the segment size, or n = -1 when the segment must
// be scanned (no usable summary, or a header that the scan will report).
func (s *Store) trySummary(g *segment, path string) (n, size int64, err error) {
	fi, err := g.f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("store: %w", err)
	}
	size = fi.Size()
	var hdr [segmentHeader]byte
	if size < segmentHeader || s.opts.noSummaries {
		return -1, 0, nil
	}
	if _, err := g.f.ReadAt(hdr[:], 0); err != nil {
		return 0, 0, fmt.Errorf("store: read %s: %w", path, err)
	}
	if checkSegmentHeader(hdr[:], g.num) != "" {
		return -1, 0, nil
	}
	n, err = s.replaySummary(g, size)
	if err != nil {
		if err != errNoSummary { // missing is normal; damaged is worth a line
			s.log.Info(fmt.Sprintf("message store: scanning segment %s: its summary is not usable: %v", path, err), "file", path, "reason", err)
		}
		return -1, 0, nil
	}
	return n, size, nil
}

// removeOrphanSummaries removes summaries whose segment is gone (a crash
// between removing the two files).
func (s *Store) removeOrphanSummaries() {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), summaryExt)
		if !ok {
			continue
		}
		if num, ok := parseSegmentName(base + segmentExt); ok && s.segs[num] == nil {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// checkSegmentHeaderPrefix checks the bytes present of a short header.
func checkSegmentHeaderPrefix(b []byte, num uint32) string {
	var full [segmentHeader]byte
	putSegmentHeader(full[:], num)
	for i, c := range b {
		if c != 0 && c != full[i] {
			return "bad segment header"
		}
	}
	return ""
}

// readAll reads f from the start into buf, reusing it.
func readAll(f *os.File, buf []byte) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return buf, err
	}
	size := fi.Size()
	buf = slices.Grow(buf[:0], int(size))[:size]
	n, err := f.ReadAt(buf, 0)
	if err == io.EOF {
		err = nil
	}
	return buf[:n], err
}

// cutTail truncates the last segment at off, the start of the first
// invalid record, and reports it (etcd's wal Repair and Prometheus'
// wlog Repair do the same with the last good record).
func (s *Store) cutTail(g *segment, path string, off, end int64, reason string, rec *Recovered) error {
	if err := g.f.Truncate(off); err != nil {
		return fmt.Errorf("store: cut torn tail of %s: %w", path, err)
	}
	if err := fdatasync(g.f); err != nil {
		return fmt.Errorf("store: cut torn tail of %s: %w", path, err)
	}
	rec.Truncated = &Truncation{File: path, Offset: off, Dropped: end - off, Reason: reason}
	// The text says it all (the text log shows no attributes); the
	// attributes repeat it for the JSON log.
	s.log.Warn(fmt.Sprintf("message store: cut the torn tail of the last segment %s at offset %d: %d bytes dropped (%s)", path, off, end-off, reason),
		"file", path, "offset", off, "dropped_bytes", end-off, "reason", reason)
	return nil
}

// dropEmptyLast removes a last segment whose header was never completed.
func (s *Store) dropEmptyLast(g *segment, path string, size int, rec *Recovered) error {
	g.f.Close()
	delete(s.segs, g.num)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("store: remove incomplete segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	reason := "incomplete segment header"
	rec.Truncated = &Truncation{File: path, Offset: 0, Dropped: int64(size), Reason: reason}
	s.log.Warn(fmt.Sprintf("message store: removed the last segment %s: incomplete header (%d bytes)", path, size), "file", path,
		"offset", 0, "dropped_bytes", size, "reason", reason)
	return nil
}

// replay applies one valid record found at off in segment g to the index,
// with the same accounting as the live operations. Keys that are not live
// (settled in segments already removed) are skipped.
func (s *Store) replay(k kind, body []byte, g *segment, off, size uint32) {
	switch k {
	case kindPublish:
		t, _ := publishTargets(body)
		for i := range t {
			tg, flags := publishTarget(body, i)
			q := s.queues[tg.Queue]
			if q == nil {
				q = new(queueIndex)
				s.queues[tg.Queue] = q
			}
			if old, ok := q.get(tg.ID); ok {
				// A copy made by compaction whose original was not
				// removed yet: the later one wins, flags merge.
				s.segs[old.seg].settleTarget(old.off, old.size)
				s.live--
				flags |= old.flags
			}
			q.set(tg.ID, entry{seg: g.num, off: off, size: size, flags: flags})
		}
		s.live += int64(t)
		g.addTargets(off, size, t)
	case kindAck, kindDelivered:
		queue := binary.LittleEndian.Uint32(body)
		q := s.queues[queue]
		if q == nil {
			return
		}
		c := int(binary.LittleEndian.Uint32(body[4:]))
		for i := range c {
			id := binary.LittleEndian.Uint64(body[settleHeaderSize+8*i:])
			var e entry
			var ok bool
			if k == kindAck {
				if e, ok = q.remove(id); !ok {
					continue
				}
				s.live--
				s.segs[e.seg].settleTarget(e.off, e.size)
			} else {
				if e, ok = q.get(id); !ok {
					continue
				}
				e.flags |= flagDelivered
				q.update(id, e)
			}
			s.segs[e.seg].pin(g)
		}
		if q.live == 0 {
			delete(s.queues, queue)
		}
	case kindDrop:
		queue := binary.LittleEndian.Uint32(body)
		if q := s.queues[queue]; q != nil {
			q.each(func(_ uint64, e entry) {
				pg := s.segs[e.seg]
				pg.settleTarget(e.off, e.size)
				pg.pin(g)
			})
			s.live -= int64(q.live)
			delete(s.queues, queue)
		}
	}
}
