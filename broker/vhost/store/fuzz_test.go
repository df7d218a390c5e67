package store

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecover appends arbitrary bytes to a valid last segment and
// recovers: no panic, no error, the records before the tail survive
// (unless the tail holds valid records of its own), and a second recovery
// finds the same state with nothing more to cut.
func FuzzRecover(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 1})
	f.Add([]byte{13, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0})
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		s, _, err := openRec(dir, Options{Sync: SyncWrite})
		if err != nil {
			t.Fatal(err)
		}
		for id := uint64(1); id <= 3; id++ {
			s.Publish(1, id, payload(1, id, 10), nil)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, segmentName(1))
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		fh.Write(tail)
		fh.Close()

		s, rec, err := openRec(dir, Options{Sync: SyncWrite})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if rec.Records == 3 && len(loadAll(t, rec)[1]) != 3 {
			t.Fatalf("%d messages survive a bad tail", len(loadAll(t, rec)[1]))
		}
		n := rec.Messages
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, rec, err = openRec(dir, Options{Sync: SyncWrite})
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		if rec.Truncated != nil || rec.Messages != n {
			t.Fatalf("second recovery: %d messages (first %d), truncated %+v", rec.Messages, n, rec.Truncated)
		}
		s.Close()
	})
}
