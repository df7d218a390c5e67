package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tailFixture writes n messages of varying size into one segment of a
// fresh store and returns the segment's bytes and each record's Ref.
func tailFixture(t *testing.T, n int) (seg []byte, name string, refs []Ref) {
	t.Helper()
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{})
	for i := range n {
		id := uint64(i + 1)
		refs = append(refs, publishWait(t, s, 1, id, payload(1, id, 5+i*7)))
	}
	closeT(t, s)
	name = segmentName(refs[0].Segment)
	seg, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if end := refs[n-1].Offset + refs[n-1].Length; int(end) != len(seg) {
		t.Fatalf("segment is %d bytes, last record ends at %d", len(seg), end)
	}
	return seg, name, refs
}

// recoverSegment opens a fresh directory holding one segment file with
// the given contents, and returns what was recovered and logged.
func recoverSegment(t *testing.T, name string, contents []byte) (*Recovered, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), contents, 0o640); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	s, rec, err := openRec(dir, Options{Logger: logs.logger()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return rec, logs.String()
}

// TestTornTail cuts the segment at every offset within its last records:
// every record wholly before the cut survives, the rest is cut and
// reported with file, offset, bytes dropped and reason.
func TestTornTail(t *testing.T) {
	const n = 12
	seg, name, refs := tailFixture(t, n)
	first := int(refs[n-4].Offset)
	for cut := first; cut <= len(seg); cut++ {
		rec, logs := recoverSegment(t, name, seg[:cut])
		survive := 0
		boundary := segmentHeader
		for _, r := range refs {
			if end := int(r.Offset + r.Length); end <= cut {
				survive++
				boundary = end
			}
		}
		got := loadAll(t, rec)[1]
		if len(got) != survive {
			t.Fatalf("cut at %d: %d messages survive, want %d", cut, len(got), survive)
		}
		for i, m := range got {
			if m.ID != uint64(i+1) || !bytes.Equal(m.Data, payload(1, m.ID, 5+i*7)) {
				t.Fatalf("cut at %d: message %d is %d %q", cut, i, m.ID, m.Data)
			}
		}
		if cut == boundary {
			if rec.Truncated != nil {
				t.Fatalf("cut at a record boundary %d reported %+v", cut, rec.Truncated)
			}
			continue
		}
		tr := rec.Truncated
		if tr == nil || tr.Offset != int64(boundary) || tr.Dropped != int64(cut-boundary) ||
			filepath.Base(tr.File) != name || tr.Reason == "" {
			t.Fatalf("cut at %d (last record ends at %d): Truncated = %+v", cut, boundary, tr)
		}
		for _, want := range []string{"file=", name, fmt.Sprintf("offset=%d", boundary),
			fmt.Sprintf("dropped_bytes=%d", cut-boundary), "reason="} {
			if !strings.Contains(logs, want) {
				t.Fatalf("cut at %d: log lacks %q:\n%s", cut, want, logs)
			}
		}
	}
}

// TestFlippedByte flips each byte of the last records in turn: the
// records before the damaged one survive, the rest is cut and reported.
func TestFlippedByte(t *testing.T) {
	const n = 10
	seg, name, refs := tailFixture(t, n)
	for p := int(refs[n-3].Offset); p < len(seg); p++ {
		damaged := bytes.Clone(seg)
		damaged[p] ^= 0x20
		rec, _ := recoverSegment(t, name, damaged)
		bad := 0
		for i, r := range refs {
			if int(r.Offset) <= p && p < int(r.Offset+r.Length) {
				bad = i
			}
		}
		if got := len(loadAll(t, rec)[1]); got != bad {
			t.Fatalf("byte %d flipped (in record %d): %d messages survive, want %d", p, bad, got, bad)
		}
		if tr := rec.Truncated; tr == nil || tr.Offset != int64(refs[bad].Offset) {
			t.Fatalf("byte %d flipped: Truncated = %+v, want a cut at %d", p, tr, refs[bad].Offset)
		}
	}
}

// TestIncompleteLastSegment: a last segment created but not yet holding
// its whole header is removed and reported; the previous one goes on.
func TestIncompleteLastSegment(t *testing.T) {
	for _, size := range []int{0, 7, segmentHeader - 1} {
		dir := t.TempDir()
		s, _ := openT(t, dir, Options{})
		publishWait(t, s, 1, 1, []byte("kept"))
		closeT(t, s)
		var hdr [segmentHeader]byte
		putSegmentHeader(hdr[:], 2)
		path := filepath.Join(dir, segmentName(2))
		if err := os.WriteFile(path, hdr[:size], 0o640); err != nil {
			t.Fatal(err)
		}
		s, rec := openT(t, dir, Options{})
		if len(loadAll(t, rec)[1]) != 1 || rec.Truncated == nil || rec.Truncated.Dropped != int64(size) {
			t.Errorf("header of %d bytes: %+v, truncated %+v", size, rec, rec.Truncated)
		}
		publishWait(t, s, 1, 2, []byte("then"))
		closeT(t, s)
		_, rec = openT(t, dir, Options{})
		if len(loadAll(t, rec)[1]) != 2 {
			t.Errorf("header of %d bytes: after reopening, %d messages", size, len(loadAll(t, rec)[1]))
		}
	}
}

func TestCorruptionBeforeLastSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10}
	s, _ := openT(t, dir, opts)
	var refs []Ref
	for id := uint64(1); id <= 60; id++ {
		refs = append(refs, publishWait(t, s, 1, id, payload(1, id, 3000)))
	}
	closeT(t, s)
	r := refs[3]
	path := filepath.Join(dir, segmentName(r.Segment))
	seg, _ := os.ReadFile(path)
	seg[r.Offset+20] ^= 1
	os.WriteFile(path, seg, 0o640)
	_, _, err := openRec(dir, opts)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.File != path || ce.Offset != int64(r.Offset) {
		t.Fatalf("Open with a damaged record in segment %d: %v", r.Segment, err)
	}
	t.Logf("error: %v", err)
	// Nothing was wiped: the file is as it was.
	if after, _ := os.ReadFile(path); !bytes.Equal(after, seg) {
		t.Error("Open changed the damaged segment")
	}
}

func TestForeignFiles(t *testing.T) {
	cases := []struct {
		name, file string
		contents   []byte
		want       string
	}{
		{"bad magic", "00000001.seg", []byte("PK\x03\x04 this is a zip file, not a segment"), "bad magic"},
		{"wrong number", "00000002.seg", func() []byte {
			var h [segmentHeader]byte
			putSegmentHeader(h[:], 1)
			return h[:]
		}(), "header names segment 1"},
		{"bad name", "journal.seg", []byte("x"), "unexpected file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			os.WriteFile(path, c.contents, 0o640)
			_, _, err := openRec(dir, Options{})
			if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want ErrForeign naming %s and %q", err, path, c.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, c.contents) {
				t.Error("Open changed the foreign file")
			}
		})
	}
	// Other files are none of the store's business.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "definitions.json"), []byte("{}"), 0o640)
	s, _ := openT(t, dir, Options{})
	closeT(t, s)
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{})
	_, _, err := openRec(dir, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: %v, want ErrLocked naming %s", err, dir)
	}
	t.Logf("error: %v", err)
	closeT(t, s)
	s, _ = openT(t, dir, Options{})
	closeT(t, s)
}

func TestDefinitionsFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(dir, "defs.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
	for _, v := range []string{`{"v":1}`, `{"v":2,"queues":["a"]}`} {
		if err := WriteFileAtomic(dir, "defs.json", []byte(v)); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(dir, "defs.json")
		if err != nil || string(got) != v {
			t.Errorf("ReadFile = %q, %v; want %q", got, err, v)
		}
	}
	// A temporary file left by a crash is cleaned up and ignored.
	stale := filepath.Join(dir, tempPrefix+"defs.json-123")
	os.WriteFile(stale, []byte("half"), 0o640)
	if got, _ := ReadFile(dir, "defs.json"); string(got) != `{"v":2,"queues":["a"]}` {
		t.Errorf("ReadFile with a stale temporary = %q", got)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary still there: %v", err)
	}
	if err := WriteFileAtomic(dir, "../x", nil); err == nil {
		t.Error("WriteFileAtomic accepted a path")
	}
}

// encodePublish returns a publish record, as a test builds segments by hand.
func encodePublish(targets []Target, flags []uint8, data []byte) []byte {
	rec := make([]byte, publishSize(len(targets), len(data)))
	copy(rec[putPublishPrefix(rec, targets, flags, len(data)):], data)
	sealRecord(rec)
	return rec
}

// encodeAck returns an ack record for ids of queue.
func encodeAck(queue uint32, ids ...uint64) []byte {
	rec := make([]byte, recordHeaderSize+settleHeaderSize+8*len(ids))
	binary.LittleEndian.PutUint32(rec, uint32(len(rec)-recordHeaderSize))
	rec[8] = byte(kindAck)
	binary.LittleEndian.PutUint32(rec[9:], queue)
	binary.LittleEndian.PutUint32(rec[13:], uint32(len(ids)))
	for i, id := range ids {
		binary.LittleEndian.PutUint64(rec[17+8*i:], id)
	}
	sealRecord(rec)
	return rec
}

// TestRecoverCompactionCopy: a crash after compaction synced its copies
// but before the old segment was removed leaves a message twice; it is
// recovered once, with the later copy's place and flags, and the old
// segment is removed once the store runs.
func TestRecoverCompactionCopy(t *testing.T) {
	dir := t.TempDir()
	seg := func(num uint32, recs ...[]byte) {
		b := make([]byte, segmentHeader)
		putSegmentHeader(b, num)
		for _, r := range recs {
			b = append(b, r...)
		}
		if err := os.WriteFile(filepath.Join(dir, segmentName(num)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	seg(1, encodePublish([]Target{{1, 1}}, nil, []byte("one")),
		encodePublish([]Target{{1, 2}, {2, 2}}, nil, []byte("two")))
	seg(2, encodeAck(1, 2),
		encodePublish([]Target{{1, 1}}, []uint8{flagDelivered}, []byte("one")), // the copy
		encodePublish([]Target{{2, 2}}, nil, []byte("two")))                    // a partial copy
	s, rec := openT(t, dir, Options{})
	m := newModel()
	m.add(1, 1, []byte("one"))
	m.deliver(1, 1)
	m.add(2, 2, []byte("two"))
	m.check(t, rec)
	if st := s.Stats(); st.LiveMessages != 2 {
		t.Errorf("LiveMessages = %d, want 2", st.LiveMessages)
	}
	publishWait(t, s, 3, 1, []byte("x")) // a batch, so housekeeping runs
	settleDown(t, s)
	if segs, _ := listSegments(dir); segs[0] != 2 {
		t.Errorf("segments after housekeeping: %v, want the first one removed", segs)
	}
	closeT(t, s)
	_, rec = openT(t, dir, Options{})
	m.add(3, 1, []byte("x"))
	m.check(t, rec)
}
