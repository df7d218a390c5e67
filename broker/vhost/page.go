package vhost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
)

// Paging: a queue keeps at most pageWindow ready messages (and
// pageWindowBytes of bodies) in memory; once it holds more, every further
// message goes to a page file, and messages come back from it, in order,
// as the ones in memory leave. A backlog is then bounded by disk, not RAM,
// as RabbitMQ's classic queues v2 keep about two thousand messages in
// memory and the rest in their queue store.
//
// Each priority level (ready.go) has its own page file: its messages are,
// in seq order, those in memory (level.mem), then those in the file
// (level.pages). A new message goes to the file when its level already has
// some there or the window is full. A requeued message has a seq lower
// than any paged one of its level (it was read back before it was
// delivered), so it goes back among those in memory. The window is shared
// by the levels: only the head level (the highest priority) is read back,
// when fewer than a quarter of the window are left in its memory, up to
// half of it; to make room, the other levels first give up their memory
// beyond the other half, the lowest priorities' newest messages first,
// into a segment read before the rest of their page file. Every publish
// and delivery costs O(1) and the files are read in large sequential
// reads.
//
// The page file is scratch: it holds transient and persistent messages
// alike (persistent ones are also in the message store, which is what a
// restart recovers from), is never fsync'ed, and the whole paging
// directory is removed when the broker starts. Writes are buffered and
// made in the caller's goroutine (the publisher's reader), so a disk that
// falls behind slows the publisher through TCP, as RabbitMQ's credit flow
// does; the heartbeat receiver counts octets waiting unread as activity,
// so a publisher held up this way is not taken for a dead one.
const (
	pageWindow      = 2048
	pageWindowBytes = 8 << 20
	// pageSegmentSize is when the page file moves on to a new segment, so
	// the space of what has been read back is returned while a long
	// backlog drains.
	pageSegmentSize = 64 << 20
	// pageFlushSize is the write buffer of a queue (all its levels
	// together): the buffered records are written once there are this many
	// octets of them.
	pageFlushSize = 256 << 10
	// pageReadSize is the size of one read when reading back.
	pageReadSize = 512 << 10
)

// pageHeader is the fixed part of a paged record: length of the rest
// (u32), seq (u64), expires (i64), sid (u64), flags (u8).
const pageHeader = 4 + 8 + 8 + 8 + 1

const pageRedelivered = 1

// pageFileIDs names page files, unique in the process (queue ids are
// unique in their vhost only).
var pageFileIDs atomic.Uint64

// pages is the on-disk tail of one level's ready messages. q.mu guards it.
type pages struct {
	dir, prefix string
	count       int   // records not yet read back
	bytes       int64 // their body sizes
	segs        []*pageSeg
	nextSeg     int
	wbuf        []byte // records not yet written to the last segment
	failing     bool   // the last write failed: logged once until one succeeds
}

type pageSeg struct {
	f       *os.File
	path    string
	written int64 // octets written
	read    int64 // octets read back
}

// pagesOf returns l's page file, making it on first use. q.mu held.
func (q *Queue) pagesOf(l *level) *pages {
	if l.pages == nil {
		l.pages = &pages{dir: q.v.opts.PageDir, prefix: "q" + strconv.FormatUint(pageFileIDs.Add(1), 10) + "."}
	}
	return l.pages
}

// pageOut appends e, already counted as ready, to l's page file. q.mu
// held.
func (q *Queue) pageOut(l *level, e *entry) {
	p := q.pagesOf(l)
	before := len(p.wbuf)
	p.wbuf = appendRecord(p.wbuf, e)
	q.countPaged(p, e.msg.bodySize())
	pg := q.ready.pg
	pg.wbufBytes += len(p.wbuf) - before
	if pg.wbufBytes >= pageFlushSize {
		q.flushPages()
	}
}

// countPaged counts one more paged message of size octets in p. q.mu held.
func (q *Queue) countPaged(p *pages, size int64) {
	p.count++
	p.bytes += size
	pg := q.pagingOf()
	pg.n++
	pg.bytes += size
}

// appendRecord appends e as a page record to b.
func appendRecord(b []byte, e *entry) []byte {
	var flags byte
	if e.redelivered {
		flags |= pageRedelivered
	}
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, e.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.expires))
	b = binary.BigEndian.AppendUint64(b, e.sid)
	b = append(b, flags)
	// A page record has no use for the publish time: its place carries
	// the quorum delivery count.
	b = appendStored(b, e.msg, int64(e.deliveries))
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// flushPages writes the records buffered by every level. A write that
// fails keeps them buffered (in memory, nothing lost) and is logged; the
// next flush tries again. q.mu held.
func (q *Queue) flushPages() {
	for _, l := range q.ready.levels {
		p := l.pages
		if p == nil || len(p.wbuf) == 0 {
			continue
		}
		n := len(p.wbuf)
		if err := p.flush(); err != nil {
			if !p.failing {
				p.failing = true
				q.v.log.Error(fmt.Sprintf("cannot page messages of queue '%s' in vhost '%s' to disk, keeping them in memory: %v", q.name, q.v.name, err))
			}
			continue
		}
		q.ready.pg.wbufBytes -= n
		if p.failing {
			p.failing = false
			q.v.log.Info(fmt.Sprintf("paging messages of queue '%s' in vhost '%s' to disk again", q.name, q.v.name))
		}
	}
}

func (p *pages) flush() error {
	var s *pageSeg
	if n := len(p.segs); n > 0 && p.segs[n-1].written < pageSegmentSize {
		s = p.segs[n-1]
	} else {
		var err error
		if s, err = p.newSeg(); err != nil {
			return err
		}
		p.segs = append(p.segs, s)
	}
	// Only whole records count as written: after a short write, the next
	// flush writes the whole buffer again at the same offset.
	if _, err := s.f.WriteAt(p.wbuf, s.written); err != nil {
		return err
	}
	s.written += int64(len(p.wbuf))
	p.wbuf = p.wbuf[:0]
	if cap(p.wbuf) > 2*pageFlushSize {
		p.wbuf = nil
	}
	return nil
}

// newSeg makes the next segment file.
func (p *pages) newSeg() (*pageSeg, error) {
	path := filepath.Join(p.dir, p.prefix+strconv.Itoa(p.nextSeg)+".page")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	p.nextSeg++
	return &pageSeg{f: f, path: path}, nil
}

// prepend writes records, which come before every record of p, to a new
// segment read before the others.
func (p *pages) prepend(records []byte) error {
	s, err := p.newSeg()
	if err != nil {
		return err
	}
	if _, err := s.f.WriteAt(records, 0); err != nil {
		s.close()
		return err
	}
	s.written = int64(len(records))
	p.segs = slices.Insert(p.segs, 0, s)
	return nil
}

// refillLevel reads l's paged messages back into memory when fewer than a
// quarter of the window are left there, up to half of it, after making
// room in the window (evictBelow). q.mu held.
func (q *Queue) refillLevel(l *level) {
	p := l.pages
	if p == nil || p.count == 0 || l.mem.Len() >= pageWindow/4 || l.memBytes >= pageWindowBytes/4 {
		return
	}
	q.evictBelow(l)
	for p.count > 0 && l.mem.Len() < pageWindow/2 && l.memBytes < pageWindowBytes/2 {
		if err := q.readBack(l); err != nil {
			q.v.log.Error(fmt.Sprintf("cannot read paged messages of queue '%s' in vhost '%s', dropping %d: %v", q.name, q.v.name, p.count, err))
			q.dropPages(l)
			return
		}
	}
	if p.count == 0 {
		q.resetPages(l)
	}
}

// evictBelow leaves the levels other than head at most half the window in
// memory, so that head can read back the other half: the newest messages
// of the lowest priorities go to their page files first. q.mu held.
func (q *Queue) evictBelow(head *level) {
	r := &q.ready
	needN := r.memN - head.mem.Len() - pageWindow/2
	needB := r.memBytes - head.memBytes - pageWindowBytes/2
	for i := len(r.levels) - 1; i >= 0 && (needN > 0 || needB > 0); i-- {
		l := r.levels[i]
		if l == head {
			continue
		}
		k := 0
		for k < l.mem.Len() && (needN > 0 || needB > 0) {
			needN--
			needB -= l.mem.At(l.mem.Len() - 1 - k).msg.bodySize()
			k++
		}
		if k > 0 && !q.evict(l, k) {
			return
		}
	}
}

// evict moves the k newest of l's messages in memory to its page file,
// ahead of those already there, and reports whether it could. q.mu held.
func (q *Queue) evict(l *level, k int) bool {
	p := q.pagesOf(l)
	start := l.mem.Len() - k
	if p.count == 0 {
		// Nothing paged yet: they are the page file's first records.
		before := len(p.wbuf)
		for i := start; i < l.mem.Len(); i++ {
			p.wbuf = appendRecord(p.wbuf, l.mem.At(i))
		}
		q.pagingOf().wbufBytes += len(p.wbuf) - before
	} else {
		var records []byte
		for i := start; i < l.mem.Len(); i++ {
			records = appendRecord(records, l.mem.At(i))
		}
		if err := p.prepend(records); err != nil {
			if !p.failing {
				p.failing = true
				q.v.log.Error(fmt.Sprintf("cannot page messages of queue '%s' in vhost '%s' to disk, keeping them in memory: %v", q.name, q.v.name, err))
			}
			return false
		}
	}
	for l.mem.Len() > start {
		e := l.mem.PopBack()
		sz := e.msg.bodySize()
		l.memBytes -= sz
		q.ready.memN--
		q.ready.memBytes -= sz
		q.countPaged(p, sz)
	}
	if q.ready.pg.wbufBytes >= pageFlushSize {
		q.flushPages()
	}
	return true
}

// readBack moves the next batch of l's records into memory. q.mu held.
func (q *Queue) readBack(l *level) error {
	p := l.pages
	var buf []byte
	var seg *pageSeg
	for len(p.segs) > 0 {
		s := p.segs[0]
		if s.read < s.written {
			seg = s
			break
		}
		if len(p.segs) == 1 {
			break // the buffered records follow
		}
		s.close()
		p.segs = p.segs[1:]
	}
	if seg != nil {
		n := min(int64(pageReadSize), seg.written-seg.read)
		pg := q.ready.pg
		if int64(cap(pg.rbuf)) < n {
			pg.rbuf = make([]byte, n)
		}
		buf = pg.rbuf[:n]
		if _, err := seg.f.ReadAt(buf, seg.read); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	} else {
		buf = p.wbuf
	}
	used, err := q.takeRecords(l, buf)
	if err != nil {
		return err
	}
	if used == 0 {
		return errors.New("page file shorter than its count")
	}
	if seg != nil {
		seg.read += int64(used)
	} else {
		p.wbuf = append(p.wbuf[:0], p.wbuf[used:]...)
		q.ready.pg.wbufBytes -= used
	}
	return nil
}

// takeRecords parses the whole records at the start of buf into l's
// memory and returns the octets used. A buffer must hold at least one
// whole record: a record larger than the read size is read on its own.
// q.mu held.
func (q *Queue) takeRecords(l *level, buf []byte) (int, error) {
	p := l.pages
	off := 0
	for p.count > 0 && off+4 <= len(buf) {
		n := int(binary.BigEndian.Uint32(buf[off:]))
		if n < pageHeader-4 {
			return off, errors.New("corrupt page record")
		}
		if off+4+n > len(buf) {
			if off == 0 {
				return q.takeLarge(l, n)
			}
			break
		}
		rec := buf[off+4 : off+4+n]
		e := entry{
			seq:         binary.BigEndian.Uint64(rec),
			expires:     int64(binary.BigEndian.Uint64(rec[8:])),
			sid:         binary.BigEndian.Uint64(rec[16:]),
			redelivered: rec[24]&pageRedelivered != 0,
			prio:        l.prio,
		}
		msg, deliveries, err := decodeStored(append([]byte(nil), rec[25:]...))
		if err != nil {
			return off, err
		}
		e.msg = msg
		e.deliveries = uint32(deliveries)
		size := msg.bodySize()
		q.memPushBack(l, e)
		p.count--
		p.bytes -= size
		q.ready.pg.n--
		q.ready.pg.bytes -= size
		off += 4 + n
		if l.mem.Len() >= pageWindow/2 || l.memBytes >= pageWindowBytes/2 {
			break
		}
	}
	return off, nil
}

// takeLarge reads one record of n octets (after its length) larger than
// the read buffer from l's first segment. q.mu held.
func (q *Queue) takeLarge(l *level, n int) (int, error) {
	p := l.pages
	if len(p.segs) == 0 || p.segs[0].read >= p.segs[0].written {
		return 0, errors.New("truncated page record")
	}
	s := p.segs[0]
	buf := make([]byte, 4+n)
	if _, err := s.f.ReadAt(buf, s.read); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	return q.takeRecords(l, buf)
}

// each calls f with the store id and body size of every paged record,
// without reading them back (purge).
func (p *pages) each(f func(sid uint64, size int64)) error {
	scan := func(b []byte) {
		for off := 0; off+4 <= len(b); {
			n := int(binary.BigEndian.Uint32(b[off:]))
			if n < pageHeader-4 || off+4+n > len(b) {
				return
			}
			rec := b[off+4 : off+4+n]
			if msg, _, err := decodeStored(rec[25:]); err == nil {
				f(binary.BigEndian.Uint64(rec[16:]), msg.bodySize())
			}
			off += 4 + n
		}
	}
	for _, s := range p.segs {
		if s.read >= s.written {
			continue
		}
		b := make([]byte, s.written-s.read)
		if _, err := s.f.ReadAt(b, s.read); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		scan(b)
	}
	scan(p.wbuf)
	return nil
}

// dropPages forgets l's paged messages and removes its files. q.mu held.
func (q *Queue) dropPages(l *level) {
	p := l.pages
	if p == nil {
		return
	}
	r := &q.ready
	r.n -= p.count
	r.bytes -= p.bytes
	if p.count > 0 {
		r.pg.n -= p.count
		r.pg.bytes -= p.bytes
	}
	p.count, p.bytes = 0, 0
	q.resetPages(l)
}

// resetPages removes the files of l's page file, which holds nothing
// unread, and the paging state once no level needs it. q.mu held.
func (q *Queue) resetPages(l *level) {
	pg := q.ready.pg
	if l.pages != nil {
		if pg != nil {
			pg.wbufBytes -= len(l.pages.wbuf)
		}
		l.pages.reset()
	}
	if pg != nil && pg.n == 0 {
		q.ready.pg = nil
	}
}

// reset empties a page file and removes its files.
func (p *pages) reset() {
	for _, s := range p.segs {
		s.close()
	}
	p.segs = nil
	p.wbuf = nil
	p.count, p.bytes = 0, 0
	p.failing = false
}

func (s *pageSeg) close() {
	_ = s.f.Close()
	_ = os.Remove(s.path)
}

// purgePages settles l's paged messages in the store (queue.purge, which
// then forgets them). q.mu held.
func (q *Queue) purgePages(l *level) {
	if l.paged() == 0 || q.sqid == 0 {
		return
	}
	var ids []uint64
	err := l.pages.each(func(sid uint64, size int64) {
		if sid != 0 {
			ids = append(ids, sid)
			q.stored--
			q.storedBytes -= size
		}
	})
	if err != nil {
		q.v.log.Error(fmt.Sprintf("cannot read paged messages of queue '%s' in vhost '%s' to purge them: %v", q.name, q.v.name, err))
	}
	if len(ids) > 0 {
		_ = q.v.opts.Store.Ack(q.sqid, ids...)
	}
}

// PrepareDir makes an empty paging directory at dir, removing what an
// earlier run left there: paged messages never outlive the broker.
func PrepareDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o700)
}
