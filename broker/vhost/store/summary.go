package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// A summary (NNNNNNNN.sum) lists the records of a sealed segment without
// their message data, so recovery can replay the segment without reading
// it; only segments with live messages are then read, for their data.
// The writer builds it while writing the segment and writes it when the
// segment is sealed. It is a cache: without a valid one (none yet, torn,
// for another size) recovery scans the segment, and writes it afresh.
//
//	0   [8]byte  magic "beatmqSM"
//	8   uint32   format version (1)
//	12  uint32   segment number
//	16  uint64   size of the segment it describes
//	24  entries: uint32 offset, uint32 record size, uint8 kind,
//	             uint32 n, n bytes of body (a publish's: targets only)
//	end uint32   CRC-32C of everything before it
const (
	summaryMagic   = "beatmqSM"
	summaryVersion = 1
	summaryHeader  = 24
	summaryExt     = ".sum"
)

func summaryName(num uint32) string { return fmt.Sprintf("%08x%s", num, summaryExt) }

// summaryBuilder accumulates the summary of one segment. Writer only.
type summaryBuilder struct {
	seg *segment
	buf []byte
	end int64 // the segment size covered so far
	// limit: a summary larger than this (half the segment size) would
	// save recovery little over a scan (small messages), so none is kept.
	limit   int
	useless bool
}

// reset starts the summary of segment g; limit is the segment size.
func (b *summaryBuilder) reset(g *segment, segmentSize int64) {
	b.seg = g
	b.buf = append(b.buf[:0], make([]byte, summaryHeader)...)
	b.end = segmentHeader
	b.limit = int(segmentSize / 2)
	b.useless = false
}

// add records a complete record rec found at off.
func (b *summaryBuilder) add(off int64, rec []byte) {
	b.end = off + int64(len(rec))
	if b.useless {
		return
	}
	if len(b.buf) > b.limit {
		b.useless = true
		b.buf = b.buf[:0]
		return
	}
	body := rec[recordHeaderSize:]
	if kind(rec[8]) == kindPublish {
		_, d := publishTargets(body)
		body = body[:d]
	}
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(off))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(rec)))
	b.buf = append(b.buf, rec[8])
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(body)))
	b.buf = append(b.buf, body...)
}

// addChunk records the records of bytes written at off (whole records,
// after the segment header if the chunk starts the segment).
func (b *summaryBuilder) addChunk(off int64, buf []byte) {
	if off == 0 {
		buf, off = buf[segmentHeader:], segmentHeader
	}
	for len(buf) > 0 {
		n := recordHeaderSize + int(binary.LittleEndian.Uint32(buf))
		b.add(off, buf[:n])
		buf, off = buf[n:], off+int64(n)
	}
}

// write stores the summary next to its segment (unless it grew useless).
// A failure is only logged: recovery will scan that segment instead.
func (b *summaryBuilder) write(s *Store) {
	if b.useless {
		b.seg = nil
		return
	}
	copy(b.buf, summaryMagic)
	binary.LittleEndian.PutUint32(b.buf[8:], summaryVersion)
	binary.LittleEndian.PutUint32(b.buf[12:], b.seg.num)
	binary.LittleEndian.PutUint64(b.buf[16:], uint64(b.end))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, crc32.Checksum(b.buf, castagnoli))
	path := filepath.Join(s.dir, summaryName(b.seg.num))
	if err := os.WriteFile(path, b.buf, 0o640); err != nil {
		s.log.Warn(fmt.Sprintf("message store: cannot write segment summary %s: %v", path, err), "file", path, "error", err)
	} else {
		s.stats.summaryBytes.Add(int64(len(b.buf)))
	}
	b.seg = nil
}

// errNoSummary: no usable summary; the reason says why, for the log.
var errNoSummary = errors.New("no usable summary")

// replaySummary replays segment g, size bytes long, from its summary.
// Entries are checked before anything is applied, so an unusable
// summary leaves the index untouched for the scan that follows.
func (s *Store) replaySummary(g *segment, size int64) (records int64, err error) {
	path := filepath.Join(s.dir, summaryName(g.num))
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, errNoSummary
	}
	bad := func(why string) error { return fmt.Errorf("%w: %s: %s", errNoSummary, path, why) }
	switch {
	case err != nil:
		return 0, bad(err.Error())
	case len(b) < summaryHeader+4 || string(b[:8]) != summaryMagic:
		return 0, bad("not a summary")
	case binary.LittleEndian.Uint32(b[len(b)-4:]) != crc32.Checksum(b[:len(b)-4], castagnoli):
		return 0, bad("crc mismatch")
	case binary.LittleEndian.Uint32(b[8:]) != summaryVersion:
		return 0, bad("unknown version")
	case binary.LittleEndian.Uint32(b[12:]) != g.num:
		return 0, bad("for another segment")
	case int64(binary.LittleEndian.Uint64(b[16:])) != size:
		return 0, bad("for another segment size")
	}
	type ent struct {
		k         kind
		off, size uint32
		body      []byte
	}
	entries := b[summaryHeader : len(b)-4]
	var list []ent
	next := int64(segmentHeader)
	for p := 0; p < len(entries); {
		if len(entries)-p < 13 {
			return 0, bad("truncated entry")
		}
		e := ent{
			off:  binary.LittleEndian.Uint32(entries[p:]),
			size: binary.LittleEndian.Uint32(entries[p+4:]),
			k:    kind(entries[p+8]),
		}
		n := int(binary.LittleEndian.Uint32(entries[p+9:]))
		p += 13
		if n > len(entries)-p || int64(e.off) != next {
			return 0, bad("malformed entry")
		}
		e.body = entries[p : p+n]
		p += n
		if r := checkSummaryBody(e.k, e.body, e.size); r != "" {
			return 0, bad(r)
		}
		next += int64(e.size)
		list = append(list, e)
	}
	if next != size {
		return 0, bad("entries do not cover the segment")
	}
	for _, e := range list {
		s.replay(e.k, e.body, g, e.off, e.size)
	}
	return int64(len(list)), nil
}

// checkSummaryBody validates an entry's body as checkBody does a record's.
func checkSummaryBody(k kind, body []byte, size uint32) string {
	if k != kindPublish {
		if int(size) != recordHeaderSize+len(body) {
			return "entry size mismatch"
		}
		return checkBody(k, body)
	}
	if len(body) < 2 {
		return "malformed publish entry"
	}
	t := int(binary.LittleEndian.Uint16(body))
	if t == 0 || len(body) != 2+t*targetSize || int(size) < recordHeaderSize+len(body) {
		return "malformed publish entry"
	}
	return ""
}
