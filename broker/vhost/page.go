package vhost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// Paging: a queue keeps at most pageWindow ready messages (and
// pageWindowBytes of bodies) in memory; once it holds more, every further
// message goes to the queue's page file, and messages come back from it, in
// order, as the ones in memory leave. A backlog is then bounded by disk,
// not RAM, as RabbitMQ's classic queues v2 keep about two thousand
// messages in memory and the rest in their queue store.
//
// The ready messages are, in seq order: those in memory (q.ready), then
// those in the page file (q.pages). A requeued message has a seq lower than
// any paged one (it was read back before it was delivered), so it goes back
// among those in memory. Reading back happens when fewer than a quarter of
// the window are left in memory, up to half of it, so every publish and
// delivery costs O(1) and the file is read in large sequential reads.
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
	// pageFlushSize is the write buffer: one write(2) per this many octets.
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

// pages is the on-disk tail of one queue's ready messages. q.mu guards it.
type pages struct {
	dir, prefix string
	count       int   // records not yet read back
	bytes       int64 // their body sizes
	segs        []*pageSeg
	nextSeg     int
	wbuf        []byte // records not yet written to the last segment
	rbuf        []byte
	failing     bool // the last write failed: logged once until one succeeds
}

type pageSeg struct {
	f       *os.File
	path    string
	written int64 // octets written
	read    int64 // octets read back
}

// memBytes is the body size of the ready messages in memory. q.mu held.
func (q *Queue) memBytes() int64 {
	if q.pages == nil {
		return q.readyBytes
	}
	return q.readyBytes - q.pages.bytes
}

// readyLen is the number of ready messages, in memory and paged. q.mu held.
func (q *Queue) readyLen() int {
	if q.pages == nil {
		return q.ready.Len()
	}
	return q.ready.Len() + q.pages.count
}

// pagedBytes is the body size of the paged messages. q.mu held.
func (q *Queue) pagedBytes() int64 {
	if q.pages == nil {
		return 0
	}
	return q.pages.bytes
}

// paged is the number of ready messages in the page file. q.mu held.
func (q *Queue) paged() int {
	if q.pages == nil {
		return 0
	}
	return q.pages.count
}

// pushReady appends e (readyBytes already counted) to the ready messages:
// in memory while the window has room and nothing is paged, else to the
// page file. q.mu held.
func (q *Queue) pushReady(e entry) {
	dir := q.v.opts.PageDir
	if dir == "" || (q.paged() == 0 && q.ready.Len() < pageWindow && q.memBytes() <= pageWindowBytes) {
		q.ready.PushBack(e)
		return
	}
	if q.pages == nil {
		q.pages = &pages{dir: dir, prefix: "q" + strconv.FormatUint(pageFileIDs.Add(1), 10) + "."}
	}
	q.pages.add(&e)
	if len(q.pages.wbuf) >= pageFlushSize {
		q.flushPages()
	}
}

// add appends e as a record to the write buffer.
func (p *pages) add(e *entry) {
	var flags byte
	if e.redelivered {
		flags |= pageRedelivered
	}
	start := len(p.wbuf)
	p.wbuf = append(p.wbuf, 0, 0, 0, 0)
	p.wbuf = binary.BigEndian.AppendUint64(p.wbuf, e.seq)
	p.wbuf = binary.BigEndian.AppendUint64(p.wbuf, uint64(e.expires))
	p.wbuf = binary.BigEndian.AppendUint64(p.wbuf, e.sid)
	p.wbuf = append(p.wbuf, flags)
	// A page record has no use for the publish time: its place carries
	// the quorum delivery count.
	p.wbuf = appendStored(p.wbuf, e.msg, int64(e.deliveries))
	binary.BigEndian.PutUint32(p.wbuf[start:], uint32(len(p.wbuf)-start-4))
	p.count++
	p.bytes += e.msg.bodySize()
}

// flushPages writes the buffered records. A write that fails keeps them
// buffered (in memory, nothing lost) and is logged; the next flush tries
// again. q.mu held.
func (q *Queue) flushPages() {
	p := q.pages
	if len(p.wbuf) == 0 {
		return
	}
	if err := p.flush(); err != nil {
		if !p.failing {
			p.failing = true
			q.v.log.Error(fmt.Sprintf("cannot page messages of queue '%s' in vhost '%s' to disk, keeping them in memory: %v", q.name, q.v.name, err))
		}
		return
	}
	if p.failing {
		p.failing = false
		q.v.log.Info(fmt.Sprintf("paging messages of queue '%s' in vhost '%s' to disk again", q.name, q.v.name))
	}
}

func (p *pages) flush() error {
	var s *pageSeg
	if n := len(p.segs); n > 0 && p.segs[n-1].written < pageSegmentSize {
		s = p.segs[n-1]
	} else {
		path := filepath.Join(p.dir, p.prefix+strconv.Itoa(p.nextSeg)+".page")
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		p.nextSeg++
		s = &pageSeg{f: f, path: path}
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

// refill reads paged messages back into memory when fewer than a quarter
// of the window are left there. q.mu held.
func (q *Queue) refill() {
	p := q.pages
	if p == nil || p.count == 0 || q.ready.Len() >= pageWindow/4 || q.memBytes() >= pageWindowBytes/4 {
		return
	}
	for p.count > 0 && q.ready.Len() < pageWindow/2 && q.memBytes() < pageWindowBytes/2 {
		if err := q.readBack(); err != nil {
			q.v.log.Error(fmt.Sprintf("cannot read paged messages of queue '%s' in vhost '%s', dropping %d: %v", q.name, q.v.name, p.count, err))
			q.dropPages()
			return
		}
	}
	if p.count == 0 {
		p.reset()
	}
}

// readBack moves the next batch of records into memory. q.mu held.
func (q *Queue) readBack() error {
	p := q.pages
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
		if int64(cap(p.rbuf)) < n {
			p.rbuf = make([]byte, n)
		}
		buf = p.rbuf[:n]
		if _, err := seg.f.ReadAt(buf, seg.read); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	} else {
		buf = p.wbuf
	}
	used, err := q.takeRecords(buf)
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
	}
	return nil
}

// takeRecords parses the whole records at the start of buf into ready
// entries and returns the octets used. A buffer must hold at least one
// whole record: a record larger than the read size is read on its own.
func (q *Queue) takeRecords(buf []byte) (int, error) {
	p := q.pages
	off := 0
	for p.count > 0 && off+4 <= len(buf) {
		n := int(binary.BigEndian.Uint32(buf[off:]))
		if n < pageHeader-4 {
			return off, errors.New("corrupt page record")
		}
		if off+4+n > len(buf) {
			if off == 0 {
				return q.takeLarge(n)
			}
			break
		}
		rec := buf[off+4 : off+4+n]
		e := entry{
			seq:         binary.BigEndian.Uint64(rec),
			expires:     int64(binary.BigEndian.Uint64(rec[8:])),
			sid:         binary.BigEndian.Uint64(rec[16:]),
			redelivered: rec[24]&pageRedelivered != 0,
		}
		msg, deliveries, err := decodeStored(append([]byte(nil), rec[25:]...))
		if err != nil {
			return off, err
		}
		e.msg = msg
		e.deliveries = uint32(deliveries)
		q.ready.PushBack(e)
		p.count--
		p.bytes -= msg.bodySize()
		off += 4 + n
		if q.ready.Len() >= pageWindow/2 || q.memBytes() >= pageWindowBytes/2 {
			break
		}
	}
	return off, nil
}

// takeLarge reads one record of n octets (after its length) larger than
// the read buffer from the first segment. q.mu held.
func (q *Queue) takeLarge(n int) (int, error) {
	p := q.pages
	if len(p.segs) == 0 || p.segs[0].read >= p.segs[0].written {
		return 0, errors.New("truncated page record")
	}
	s := p.segs[0]
	buf := make([]byte, 4+n)
	if _, err := s.f.ReadAt(buf, s.read); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	saved := p.rbuf
	p.rbuf = nil
	used, err := q.takeRecords(buf)
	p.rbuf = saved
	return used, err
}

// eachPaged calls f with the store id and body size of every paged
// record, without reading them back (purge). q.mu held.
func (q *Queue) eachPaged(f func(sid uint64, size int64)) error {
	p := q.pages
	if p == nil {
		return nil
	}
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

// dropPages forgets every paged message and removes the files. q.mu held.
func (q *Queue) dropPages() {
	if q.pages == nil {
		return
	}
	q.readyBytes -= q.pages.bytes
	q.pages.count, q.pages.bytes = 0, 0
	q.pages.reset()
}

// reset removes the files of an empty page file.
func (p *pages) reset() {
	for _, s := range p.segs {
		s.close()
	}
	p.segs = nil
	p.wbuf = nil
	p.rbuf = nil
}

func (s *pageSeg) close() {
	_ = s.f.Close()
	_ = os.Remove(s.path)
}

// purgePages settles and forgets the paged messages (queue.purge). q.mu
// held.
func (q *Queue) purgePages() {
	if q.paged() == 0 {
		return
	}
	if q.sqid != 0 {
		var ids []uint64
		err := q.eachPaged(func(sid uint64, size int64) {
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
	q.dropPages()
}

// PrepareDir makes an empty paging directory at dir, removing what an
// earlier run left there: paged messages never outlive the broker.
func PrepareDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o700)
}
