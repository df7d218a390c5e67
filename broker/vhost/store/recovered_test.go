package store

import (
	"bytes"
	"testing"
	"time"
)

// TestEachWhileCompacting reads a recovered queue while compaction moves
// the records still ahead of the reader and closes their old files: every
// message that stays live is passed once, in order, with its data, and
// the acked ones ahead of the reader are skipped.
func TestEachWhileCompacting(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10, CompactBelow: 0.5}
	s, _ := openT(t, dir, opts)
	const n = 200 // about 20 records of 3000 bytes per segment: 10 segments
	for id := uint64(1); id <= n; id++ {
		publishWait(t, s, 1, id, payload(1, id, 3000))
		publishWait(t, s, 2, id, payload(2, id, 100)) // another queue in between
	}
	closeT(t, s)

	s, rec, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rq := rec.Queues[1]
	if rq == nil || rq.Len != n || rq.LastID != n {
		t.Fatalf("recovered queue 1: %+v, want %d messages up to id %d", rq, n, n)
	}
	// Of the second half, keep one message in ten: the segments holding it
	// fall below half live and are compacted while the reader is at id 10.
	acked := map[uint64]bool{}
	var got []uint64
	err = rq.Each(func(m Message) error {
		if want := payload(1, m.ID, 3000); !bytes.Equal(m.Data, want) {
			t.Errorf("id %d: data differs", m.ID)
		}
		if len(got) > 0 && m.ID <= got[len(got)-1] {
			t.Errorf("id %d after %d", m.ID, got[len(got)-1])
		}
		got = append(got, m.ID)
		if m.ID != 10 {
			return nil
		}
		for id := uint64(n / 2); id <= n; id++ {
			if id%10 != 0 {
				if err := s.Ack(1, id); err != nil {
					return err
				}
				acked[id] = true
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Compactions < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if c := s.Stats().Compactions; c < 3 {
			t.Fatalf("%d segments compacted after 10 s, want at least 3", c)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	seen := map[uint64]bool{}
	for _, id := range got {
		seen[id] = true
	}
	for id := uint64(1); id <= n; id++ {
		if !acked[id] && !seen[id] {
			t.Errorf("live message %d not passed", id)
		}
	}
	if len(got) >= n {
		t.Errorf("%d messages passed: the %d acked ahead of the reader were not skipped", len(got), len(acked))
	}
	t.Logf("%d passed, %d acked ahead of the reader, %d compactions", len(got), len(acked), s.Stats().Compactions)
}

// TestEachAfterClose: reading a recovered queue once its store is closed
// fails with ErrClosed.
func TestEachAfterClose(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{})
	publishWait(t, s, 1, 1, []byte("x"))
	closeT(t, s)
	s, rec, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	if err := rec.Queues[1].Each(func(Message) error { return nil }); err != ErrClosed {
		t.Fatalf("Each after Close: %v, want ErrClosed", err)
	}
}

// TestEachManyChunks: a queue read back in several chunks, ids 0 to n-1
// with gaps from acks, comes back whole, in order, each message once.
func TestEachManyChunks(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{})
	const n = 3*recoverChunk + 17
	for id := uint64(0); id < n; id++ {
		if _, err := s.Publish(1, id, payload(1, id, int(id%50)), nil); err != nil {
			t.Fatal(err)
		}
	}
	for id := uint64(5); id < n; id += 7 {
		if err := s.Ack(1, id); err != nil {
			t.Fatal(err)
		}
	}
	closeT(t, s)
	_, rec := openT(t, dir, Options{})
	got := loadAll(t, rec)[1]
	want := uint64(0)
	for _, m := range got {
		if want%7 == 5 {
			want++
		}
		if m.ID != want || !bytes.Equal(m.Data, payload(1, want, int(want%50))) {
			t.Fatalf("got id %d (%d bytes), want id %d", m.ID, len(m.Data), want)
		}
		want++
	}
	if want%7 == 5 {
		want++
	}
	if want != n {
		t.Fatalf("read up to id %d, want %d", want, n)
	}
}
