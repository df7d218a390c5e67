package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, rec := openT(t, dir, Options{})
	if len(loadAll(t, rec)) != 0 || rec.Truncated != nil {
		t.Fatalf("fresh directory recovered %+v", rec)
	}
	m := newModel()
	for id := uint64(1); id <= 10; id++ {
		d := payload(7, id, int(id)*10)
		publishWait(t, s, 7, id, d)
		m.add(7, id, d)
	}
	if err := s.Ack(7, 2, 4, 6); err != nil {
		t.Fatal(err)
	}
	m.ack(7, 2)
	m.ack(7, 4)
	m.ack(7, 6)
	if err := s.Delivered(7, 1, 3, 4); err != nil { // 4 is acked: ignored
		t.Fatal(err)
	}
	m.deliver(7, 1)
	m.deliver(7, 3)
	closeT(t, s)

	s, rec = openT(t, dir, Options{})
	m.check(t, rec)
	// Recovery is repeatable and the store goes on from where it was.
	publishWait(t, s, 7, 11, []byte("eleven"))
	m.add(7, 11, []byte("eleven"))
	closeT(t, s)
	_, rec = openT(t, dir, Options{})
	m.check(t, rec)
}

func TestDeleteAndPurgeQueue(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{})
	m := newModel()
	for id := uint64(1); id <= 5; id++ {
		publishWait(t, s, 1, id, payload(1, id, 20))
		publishWait(t, s, 2, id, payload(2, id, 20))
		publishWait(t, s, 3, id, payload(3, id, 20))
		m.add(3, id, payload(3, id, 20))
	}
	if err := s.DeleteQueue(1); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeQueue(2); err != nil {
		t.Fatal(err)
	}
	// Queue 2 goes on after the purge, and queue 1's id is used again.
	for id := uint64(6); id <= 7; id++ {
		publishWait(t, s, 2, id, payload(2, id, 20))
		m.add(2, id, payload(2, id, 20))
	}
	publishWait(t, s, 1, 1, []byte("new queue 1"))
	m.add(1, 1, []byte("new queue 1"))
	if got := s.Stats().LiveMessages; got != 8 {
		t.Errorf("LiveMessages = %d, want 8", got)
	}
	closeT(t, s)
	_, rec := openT(t, dir, Options{})
	m.check(t, rec)
}

func TestManyQueues(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10}
	s, _ := openT(t, dir, opts)
	m := newModel()
	r := rand.New(rand.NewPCG(1, 2))
	for id := uint64(1); id <= 50; id++ {
		for q := uint32(0); q < 200; q++ {
			d := payload(q, id, 1+r.IntN(200))
			if _, err := s.Publish(q, id, d, nil); err != nil {
				t.Fatal(err)
			}
			m.add(q, id, d)
			switch r.IntN(4) {
			case 0:
				s.Ack(q, id)
				m.ack(q, id)
			case 1:
				s.Delivered(q, id)
				m.deliver(q, id)
			}
		}
	}
	settleDown(t, s)
	st := s.Stats()
	if st.Queues != 200 {
		t.Errorf("Stats.Queues = %d, want 200", st.Queues)
	}
	closeT(t, s)
	_, rec := openT(t, dir, opts)
	m.check(t, rec)
}

func TestSegmentRollover(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10}
	s, _ := openT(t, dir, opts)
	m := newModel()
	refs := map[uint64]Ref{}
	for id := uint64(1); id <= 100; id++ {
		d := payload(1, id, 4096)
		refs[id] = publishWait(t, s, 1, id, d)
		m.add(1, id, d)
	}
	// A message larger than a segment gets one of its own.
	big := payload(1, 101, 200<<10)
	refs[101] = publishWait(t, s, 1, 101, big)
	m.add(1, 101, big)
	publishWait(t, s, 1, 102, []byte("after big"))
	m.add(1, 102, []byte("after big"))

	st := s.Stats()
	if st.Segments < 7 {
		t.Errorf("Segments = %d after 600 KiB in 64 KiB segments", st.Segments)
	}
	if refs[101].Segment == refs[100].Segment || refs[102].Segment == refs[101].Segment {
		t.Errorf("the big record shares a segment: refs %v %v %v", refs[100], refs[101], refs[102])
	}
	for id, want := range m.msgs[1] {
		got, err := s.Read(1, id)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Read(1, %d) = %q, %v", id, trim(got), err)
		}
	}
	closeT(t, s)
	_, rec := openT(t, dir, opts)
	m.check(t, rec)
	if rec.Segments != st.Segments {
		t.Errorf("recovered %d segments, had %d", rec.Segments, st.Segments)
	}
}

func TestSegmentRemovalWhenSettled(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10, CompactBelow: -1}
	s, _ := openT(t, dir, opts)
	for id := uint64(1); id <= 200; id++ {
		publishWait(t, s, 1, id, payload(1, id, 2000))
	}
	if st := s.Stats(); st.Segments < 6 {
		t.Fatalf("Segments = %d, want several", st.Segments)
	}
	// Acks land in later segments than their publishes; all settled,
	// every sealed segment goes.
	for id := uint64(1); id <= 200; id++ {
		s.Ack(1, id)
	}
	settleDown(t, s)
	st := s.Stats()
	if st.Segments != 1 || st.LiveMessages != 0 || st.SegmentsRemoved == 0 {
		t.Errorf("after settling everything: %+v", st)
	}
	closeT(t, s)
	if segs, _ := listSegments(dir); len(segs) != 1 {
		t.Errorf("segment files left: %v", segs)
	}
	_, rec := openT(t, dir, opts)
	if len(loadAll(t, rec)) != 0 {
		t.Errorf("recovered %d queues from a settled store", len(loadAll(t, rec)))
	}
}

// TestRemovalKeepsSettleRecords checks that a segment whose own messages
// are settled stays while its acks still cover publishes in an older
// segment: removing it would bring those messages back.
func TestRemovalKeepsSettleRecords(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10, CompactBelow: -1}
	s, _ := openT(t, dir, opts)
	// Segment A: queue 1's messages 1..20 and one long-lived message of
	// queue 2 that keeps A alive.
	publishWait(t, s, 2, 1, payload(2, 1, 100))
	for id := uint64(1); id <= 20; id++ {
		publishWait(t, s, 1, id, payload(1, id, 1000))
	}
	// Later segments: queue 3's messages with queue 1's acks among them.
	for id := uint64(1); id <= 200; id++ {
		publishWait(t, s, 3, id, payload(3, id, 1000))
		if id <= 20 {
			s.Ack(1, id)
		}
	}
	for id := uint64(1); id <= 200; id++ {
		s.Ack(3, id)
	}
	settleDown(t, s)
	closeT(t, s)
	_, rec := openT(t, dir, opts)
	if len(loadAll(t, rec)[1]) != 0 || len(loadAll(t, rec)[3]) != 0 || len(loadAll(t, rec)[2]) != 1 {
		t.Errorf("recovered queue 1: %d, queue 2: %d, queue 3: %d messages; want 0, 1, 0",
			len(loadAll(t, rec)[1]), len(loadAll(t, rec)[2]), len(loadAll(t, rec)[3]))
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	logs := &logBuffer{}
	opts := Options{SegmentSize: 64 << 10, Logger: logs.logger()}
	s, _ := openT(t, dir, opts)
	m := newModel()
	var first Ref
	for id := uint64(1); id <= 150; id++ {
		d := payload(1, id, 3000)
		ref := publishWait(t, s, 1, id, d)
		if id == 1 {
			first = ref
		}
		m.add(1, id, d)
		if id%3 == 0 {
			s.Delivered(1, id)
			m.deliver(1, id)
		}
	}
	// Keep one message in ten: every sealed segment drops below 25% live.
	for id := uint64(1); id <= 150; id++ {
		if id%10 != 0 {
			s.Ack(1, id)
			m.ack(1, id)
		}
	}
	settleDown(t, s)
	st := s.Stats()
	if st.Compactions == 0 || st.CompactedBytes == 0 {
		t.Fatalf("no compaction: %+v", st)
	}
	if st.LiveMessages != 15 {
		t.Errorf("LiveMessages = %d, want 15", st.LiveMessages)
	}
	if segs, _ := listSegments(dir); segs[0] == first.Segment {
		t.Errorf("first segment %d still there after compaction (segments %v)", first.Segment, segs)
	}
	if !strings.Contains(logs.String(), "compacted segment") {
		t.Errorf("no compaction logged:\n%s", logs)
	}
	for id, want := range m.msgs[1] {
		got, err := s.Read(1, id)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Read(1, %d) after compaction = %q, %v", id, trim(got), err)
		}
	}
	closeT(t, s)
	_, rec := openT(t, dir, opts)
	m.check(t, rec)
}

func TestFanout(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{})
	m := newModel()
	targets := []Target{{1, 10}, {2, 20}, {3, 30}}
	ch := make(chan error, 1)
	if _, err := s.PublishTo(targets, []byte("shared"), func(err error) { ch <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	s.Ack(2, 20)
	s.Delivered(3, 30)
	m.add(1, 10, []byte("shared"))
	m.add(3, 30, []byte("shared"))
	m.deliver(3, 30)
	if _, err := s.PublishTo([]Target{{5, 1}, {5, 1}}, []byte("x"), nil); !errors.Is(err, ErrDuplicate) {
		t.Errorf("PublishTo with a repeated target: %v, want ErrDuplicate", err)
	}
	closeT(t, s)
	_, rec := openT(t, dir, Options{})
	m.check(t, rec)
}

func TestDuplicateAndClosed(t *testing.T) {
	s, _ := openT(t, t.TempDir(), Options{})
	publishWait(t, s, 1, 1, []byte("a"))
	if _, err := s.Publish(1, 1, []byte("b"), nil); !errors.Is(err, ErrDuplicate) {
		t.Errorf("second Publish of a live id: %v, want ErrDuplicate", err)
	}
	s.Ack(1, 1)
	publishWait(t, s, 1, 1, []byte("c")) // settled ids may come back
	if _, err := s.Read(1, 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read of an unknown id: %v", err)
	}
	closeT(t, s)
	closeT(t, s) // idempotent
	if _, err := s.Publish(1, 3, nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := s.Ack(1, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack after Close: %v", err)
	}
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
}

func TestReadPendingAndWritten(t *testing.T) {
	s, _ := openT(t, t.TempDir(), Options{})
	var wg sync.WaitGroup
	for id := uint64(1); id <= 2000; id++ {
		d := payload(1, id, 100)
		if _, err := s.Publish(1, id, d, nil); err != nil {
			t.Fatal(err)
		}
		// Read right away: from the pending batch, the one being
		// written, or the file, whichever it is in.
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.Read(1, id)
			if err != nil || !bytes.Equal(got, d) {
				t.Errorf("Read(1, %d) = %q, %v", id, trim(got), err)
			}
		}()
	}
	wg.Wait()
}

func TestSyncWrite(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Sync: SyncWrite}
	s, _ := openT(t, dir, opts)
	m := newModel()
	for id := uint64(1); id <= 50; id++ {
		publishWait(t, s, 1, id, payload(1, id, 64))
		m.add(1, id, payload(1, id, 64))
	}
	if n := s.Stats().Fdatasyncs; n != 0 {
		t.Errorf("SyncWrite made %d fdatasync calls before Close", n)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Fdatasyncs; n == 0 {
		t.Error("Sync made no fdatasync call in SyncWrite mode")
	}
	closeT(t, s)
	_, rec := openT(t, dir, opts)
	m.check(t, rec)
}

func TestGroupCommit(t *testing.T) {
	s, _ := openT(t, t.TempDir(), Options{})
	const publishers, each = 32, 50
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				publishWait(t, s, uint32(p), uint64(i+1), payload(uint32(p), uint64(i), 16))
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Fdatasyncs >= publishers*each {
		t.Errorf("%d fdatasync calls for %d publishes: no group commit", st.Fdatasyncs, publishers*each)
	}
	t.Logf("%d publishes, %d fdatasync calls, %d writes", publishers*each, st.Fdatasyncs, st.Writes)
}

// TestConcurrent runs publishers, consumers (delivered, ack), readers and
// compaction at once, under -race, then checks recovery against a model.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10}
	s, _ := openT(t, dir, opts)
	m := newModel()
	var wg sync.WaitGroup
	for q := range uint32(8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(q), 9))
			var live []uint64
			for id := uint64(1); id <= 400; id++ {
				d := payload(q, id, r.IntN(3000))
				var done func(error)
				ch := make(chan error, 1)
				if id%7 == 0 {
					done = func(err error) { ch <- err }
				}
				if _, err := s.Publish(q, id, d, done); err != nil {
					t.Error(err)
					return
				}
				if done != nil {
					if err := <-ch; err != nil {
						t.Error(err)
					}
				}
				m.add(q, id, d)
				live = append(live, id)
				if r.IntN(3) == 0 && len(live) > 0 {
					i := r.IntN(len(live))
					got, err := s.Read(q, live[i])
					if err != nil {
						t.Errorf("Read(%d, %d): %v", q, live[i], err)
					}
					_ = got
				}
				for len(live) > 5 && r.IntN(2) == 0 {
					i := r.IntN(len(live))
					id := live[i]
					live = append(live[:i], live[i+1:]...)
					s.Delivered(q, id)
					if r.IntN(10) > 0 {
						s.Ack(q, id)
						m.ack(q, id)
					} else {
						m.deliver(q, id)
					}
				}
			}
		}()
	}
	wg.Wait()
	settleDown(t, s)
	closeT(t, s)
	_, rec := openT(t, dir, opts)
	m.check(t, rec)
}
