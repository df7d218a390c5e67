package store

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openT opens dir and closes the store at the end of the test.
func openT(t testing.TB, dir string, opts Options) (*Store, *Recovered) {
	t.Helper()
	s, rec, err := openRec(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec
}

// closeT closes s and fails the test on an error.
func closeT(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// publishWait publishes and waits for the completion.
func publishWait(t testing.TB, s *Store, queue uint32, id uint64, data []byte) Ref {
	t.Helper()
	ch := make(chan error, 1)
	ref, err := s.Publish(queue, id, data, func(err error) { ch <- err })
	if err != nil {
		t.Fatalf("Publish(%d, %d): %v", queue, id, err)
	}
	if err := <-ch; err != nil {
		t.Fatalf("Publish(%d, %d) completed with %v", queue, id, err)
	}
	return ref
}

// settleDown lets the writer run housekeeping to a fixed point: each Sync
// is one batch, and housekeeping runs after each batch.
func settleDown(t testing.TB, s *Store) {
	t.Helper()
	for range 8 {
		if err := s.Sync(); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}
}

// payload is deterministic message data for (queue, id) of n bytes.
func payload(queue uint32, id uint64, n int) []byte {
	b := []byte(fmt.Sprintf("q%d-m%d:", queue, id))
	for len(b) < n {
		b = append(b, byte('a'+(id+uint64(len(b)))%26))
	}
	return b[:n]
}

// model is what a queue should hold: id → data, delivered.
type model struct {
	mu        sync.Mutex
	msgs      map[uint32]map[uint64][]byte
	delivered map[uint32]map[uint64]bool
}

func newModel() *model {
	return &model{msgs: map[uint32]map[uint64][]byte{}, delivered: map[uint32]map[uint64]bool{}}
}

func (m *model) add(q uint32, id uint64, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.msgs[q] == nil {
		m.msgs[q] = map[uint64][]byte{}
	}
	m.msgs[q][id] = data
}

func (m *model) ack(q uint32, id uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.msgs[q], id)
	if len(m.msgs[q]) == 0 {
		delete(m.msgs, q)
	}
}

func (m *model) deliver(q uint32, id uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.delivered[q] == nil {
		m.delivered[q] = map[uint64]bool{}
	}
	m.delivered[q][id] = true
}

// check compares a recovery with the model: same queues, same ids in
// ascending order, same data and delivered flags.
func (m *model) check(t testing.TB, rec *Recovered) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(loadAll(t, rec)) != len(m.msgs) {
		t.Errorf("recovered %d queues, want %d", len(loadAll(t, rec)), len(m.msgs))
	}
	var total int64
	for q, want := range m.msgs {
		got := loadAll(t, rec)[q]
		total += int64(len(want))
		ids := make([]uint64, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if len(got) != len(ids) {
			t.Errorf("queue %d: recovered %d messages, want %d", q, len(got), len(ids))
			continue
		}
		for i, id := range ids {
			g := got[i]
			if g.ID != id {
				t.Errorf("queue %d: message %d has id %d, want %d", q, i, g.ID, id)
				break
			}
			if !bytes.Equal(g.Data, want[id]) {
				t.Errorf("queue %d id %d: data %q, want %q", q, id, trim(g.Data), trim(want[id]))
			}
			if d := m.delivered[q][id]; g.Delivered != d {
				t.Errorf("queue %d id %d: Delivered %v, want %v", q, id, g.Delivered, d)
			}
		}
	}
	if rec.Messages != total {
		t.Errorf("Recovered.Messages = %d, want %d", rec.Messages, total)
	}
}

func trim(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// logBuffer is a slog text handler into a buffer, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// loaded keeps what openRec read, per *Recovered, for loadAll.
var loaded sync.Map

// openRec is Open followed by reading every recovered message (Each), as
// the broker does at start: an error of either is returned, the store
// closed.
func openRec(dir string, opts Options) (*Store, *Recovered, error) {
	s, rec, err := Open(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[uint32][]Message, len(rec.Queues))
	for q, rq := range rec.Queues {
		var ms []Message
		if err := rq.Each(func(m Message) error { ms = append(ms, m); return nil }); err != nil {
			s.Close()
			return nil, nil, err
		}
		if len(ms) != rq.Len || len(ms) > 0 && ms[len(ms)-1].ID != rq.LastID {
			s.Close()
			return nil, nil, fmt.Errorf("queue %d: Each passed %d messages; Open said %d, last id %d", q, len(ms), rq.Len, rq.LastID)
		}
		out[q] = ms
	}
	loaded.Store(rec, out)
	return s, rec, nil
}

// loadAll returns the messages openRec read for rec.
func loadAll(t testing.TB, rec *Recovered) map[uint32][]Message {
	t.Helper()
	out, ok := loaded.Load(rec)
	if !ok {
		t.Fatal("loadAll: rec was not opened by openRec")
	}
	return out.(map[uint32][]Message)
}
