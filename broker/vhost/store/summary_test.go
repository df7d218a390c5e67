package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// summaryFixture fills several segments, settles some messages, closes,
// and returns the directory and the model.
func summaryFixture(t *testing.T, opts Options) (string, *model) {
	t.Helper()
	dir := t.TempDir()
	s, _ := openT(t, dir, opts)
	m := newModel()
	for id := uint64(1); id <= 120; id++ {
		for q := uint32(1); q <= 3; q++ {
			d := payload(q, id, 300+int(id))
			if _, err := s.Publish(q, id, d, nil); err != nil {
				t.Fatal(err)
			}
			m.add(q, id, d)
		}
		if id%4 == 0 {
			s.Ack(1, id-1)
			m.ack(1, id-1)
			s.Delivered(2, id)
			m.deliver(2, id)
		}
	}
	closeT(t, s)
	return dir, m
}

func TestSummaries(t *testing.T) {
	opts := Options{SegmentSize: 64 << 10, CompactBelow: -1}
	dir, m := summaryFixture(t, opts)
	s, rec := openT(t, dir, opts)
	closeT(t, s)
	if rec.Segments < 3 || rec.Summaries != rec.Segments-1 {
		t.Fatalf("%d segments, %d replayed from summaries; want all but the last", rec.Segments, rec.Summaries)
	}
	m.check(t, rec)

	// A damaged summary is ignored (the segment is scanned), said in the
	// log, and written afresh.
	first := filepath.Join(dir, summaryName(1))
	b, _ := os.ReadFile(first)
	b[len(b)/2] ^= 1
	os.WriteFile(first, b, 0o640)
	// A summary whose segment is gone is removed.
	orphan := filepath.Join(dir, summaryName(0x99))
	os.WriteFile(orphan, []byte("x"), 0o640)
	logs := &logBuffer{}
	s, rec = openT(t, dir, Options{SegmentSize: 64 << 10, Logger: logs.logger()})
	closeT(t, s)
	m.check(t, rec)
	if rec.Summaries != rec.Segments-2 {
		t.Errorf("with a damaged summary: %d of %d segments by summary", rec.Summaries, rec.Segments)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan summary still there: %v", err)
	}
	s, rec = openT(t, dir, opts)
	closeT(t, s)
	if rec.Summaries != rec.Segments-1 {
		t.Errorf("summary not rewritten: %d of %d segments by summary", rec.Summaries, rec.Segments)
	}
	m.check(t, rec)
}

// TestSummaryDoesNotHideDamage: a segment replayed from its summary is
// not scanned, but its live records are checked when their data is read.
func TestSummaryDoesNotHideDamage(t *testing.T) {
	opts := Options{SegmentSize: 64 << 10, CompactBelow: -1}
	dir, _ := summaryFixture(t, opts)
	path := filepath.Join(dir, segmentName(1))
	b, _ := os.ReadFile(path)
	b[len(b)-3] ^= 1 // inside the last record of segment 1: a live publish in this fixture
	os.WriteFile(path, b, 0o640)
	_, _, err := openRec(dir, opts)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.File != path {
		t.Fatalf("Open: %v, want ErrCorrupt in %s", err, path)
	}
}
