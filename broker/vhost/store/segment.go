package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Every segment file starts with a header:
//
//	0   [8]byte  magic "beatmqSG"
//	8   uint32   format version (1)
//	12  uint32   segment number (must match the file name)
//	16  uint32   CRC-32C of bytes 0..16
//
// Records follow from offset 20. A file named like a segment whose header
// is wrong is reported as foreign, never overwritten.
const (
	segmentMagic   = "beatmqSG"
	segmentVersion = 1
	segmentHeader  = 20
	segmentExt     = ".seg"
)

// segmentName is the file name of segment num: 8 hex digits, so names sort
// in log order (as etcd's wal names its files by sequence).
func segmentName(num uint32) string {
	return fmt.Sprintf("%08x%s", num, segmentExt)
}

// parseSegmentName returns the number of a segment file name.
func parseSegmentName(name string) (uint32, bool) {
	base, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(base) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 16, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

func putSegmentHeader(dst []byte, num uint32) {
	copy(dst, segmentMagic)
	binary.LittleEndian.PutUint32(dst[8:], segmentVersion)
	binary.LittleEndian.PutUint32(dst[12:], num)
	binary.LittleEndian.PutUint32(dst[16:], crc32.Checksum(dst[:16], castagnoli))
}

// checkSegmentHeader returns why hdr is not the header of segment num, or "".
func checkSegmentHeader(hdr []byte, num uint32) string {
	if len(hdr) < segmentHeader {
		return "short segment header"
	}
	if string(hdr[:8]) != segmentMagic {
		return fmt.Sprintf("bad magic %q: not a beatmq segment", hdr[:8])
	}
	if binary.LittleEndian.Uint32(hdr[16:]) != crc32.Checksum(hdr[:16], castagnoli) {
		return "segment header crc mismatch"
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != segmentVersion {
		return fmt.Sprintf("unsupported segment version %d (this build reads %d)", v, segmentVersion)
	}
	if n := binary.LittleEndian.Uint32(hdr[12:]); n != num {
		return fmt.Sprintf("header names segment %d, file name says %d", n, num)
	}
	return ""
}

// listSegments returns the segment numbers found in dir, in order. Files
// that do not look like segments are left alone (the directory may hold
// the lock, definitions or a scratch area).
func listSegments(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var nums []uint32
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segmentExt) {
			continue
		}
		n, ok := parseSegmentName(name)
		if !ok || !e.Type().IsRegular() {
			return nil, &CorruptError{File: filepath.Join(dir, name), Reason: "unexpected file with a segment extension", Err: ErrForeign}
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// segment is the in-memory account of one segment file. All fields are
// guarded by Store.mu, except that f is opened and closed only by the
// writer goroutine (it publishes f under Store.mu so Read can use it).
type segment struct {
	num  uint32
	f    *os.File
	size int64 // bytes appended, pending ones included
	// written is how far the file holds what was appended; bytes beyond it
	// are still in the pending or in-flight batch.
	written int64

	live      int64 // live (queue, id) targets whose publish is here
	liveBytes int64 // bytes of records with at least one live target
	// multi counts the live targets of records with more than one target,
	// by offset, so liveBytes drops a shared record only once.
	multi map[uint32]uint16
	// ackers counts, per later segment, the settle records there that
	// refer to publishes here. While this segment exists they must stay,
	// or recovery would bring the settled publishes back.
	ackers map[uint32]int32
	// outRefs is the number of settle records here that refer to
	// publishes in earlier segments that still exist: this segment may
	// not be removed while it is above zero.
	outRefs int64

	compacting bool
}

// settleTarget removes one live target of the record at off, size bytes long.
func (g *segment) settleTarget(off, size uint32) {
	g.live--
	if n, ok := g.multi[off]; ok {
		if n > 1 {
			g.multi[off] = n - 1
			return
		}
		delete(g.multi, off)
	}
	g.liveBytes -= int64(size)
}

// addTargets accounts a record at off, size bytes long, with t live targets.
func (g *segment) addTargets(off, size uint32, t int) {
	g.live += int64(t)
	g.liveBytes += int64(size)
	if t > 1 {
		if g.multi == nil {
			g.multi = make(map[uint32]uint16)
		}
		g.multi[off] = uint16(t)
	}
}

// pin records that a settle record in segment by refers to a publish here.
func (g *segment) pin(by *segment) {
	if by == g {
		return
	}
	if g.ackers == nil {
		g.ackers = make(map[uint32]int32)
	}
	g.ackers[by.num]++
	by.outRefs++
}

// CorruptError reports a segment that cannot be read: which file, where,
// and why. Err is ErrCorrupt for damaged records and ErrForeign for a file
// that is not a segment of this format.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
	Err    error
}

// Error says what is wrong where: "store: corrupt segment: FILE at offset N: REASON".
func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d: %s", e.Err, e.File, e.Offset, e.Reason)
}

// Unwrap returns ErrCorrupt or ErrForeign.
func (e *CorruptError) Unwrap() error { return e.Err }

var (
	// ErrCorrupt is wrapped by errors about a damaged record in a segment
	// other than the last (the last one's torn tail is cut, not reported
	// as an error).
	ErrCorrupt = errors.New("store: corrupt segment")
	// ErrForeign is wrapped by errors about a file that is not a segment
	// of this format: wrong magic, version or number.
	ErrForeign = errors.New("store: foreign file in store directory")
)
