package vhost

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beatmq/beatmq/amqp"
)

// newPagingEnv is newEnv with a paging directory; it also returns it.
func newPagingEnv(t *testing.T) (*env, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "paging")
	if err := PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	v := New("/", Options{PageDir: dir})
	t.Cleanup(v.Close)
	e := &env{t: t, v: v}
	e.conn = v.Connect()
	e.s, e.k = e.session(e.conn)
	return e, dir
}

func pageFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func queueInfo(t *testing.T, e *env, q string) QueueInfo {
	t.Helper()
	info, ok := e.v.Queue(q)
	if !ok {
		t.Fatalf("no queue %q", q)
	}
	return info
}

// A backlog larger than the window goes to the page file and comes back in
// order, bodies and properties intact, whichever way it is consumed; the
// files go once it has drained.
func TestPagingKeepsOrderAndContent(t *testing.T) {
	e, dir := newPagingEnv(t)
	q := e.declare("backlog", nil)
	const n = 5*pageWindow + 17
	props := amqp.Properties{Flags: amqp.FlagHeaders | amqp.FlagCorrelationID, CorrelationID: "c",
		Headers: amqp.Table{{Name: "k", Value: "v"}}}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("m%06d", i)
		if i%3 == 0 {
			e.publishMsg("", q, propsMsg(t, body, props))
		} else {
			e.publish("", q, body)
		}
	}
	info := queueInfo(t, e, q)
	if info.MessagesReady != n || info.MessagesPagedOut != n-pageWindow {
		t.Fatalf("ready %d paged %d, want %d and %d", info.MessagesReady, info.MessagesPagedOut, n, n-pageWindow)
	}
	if info.MessageBytesPagedOut != int64(7*(n-pageWindow)) || info.MessageBytesReady != int64(7*n) {
		t.Fatalf("bytes ready %d paged %d", info.MessageBytesReady, info.MessageBytesPagedOut)
	}
	if len(pageFiles(t, dir)) == 0 {
		t.Fatal("nothing paged to disk")
	}
	// Half by basic.get, half by a consumer.
	for i := 0; i < n/2; i++ {
		body, d := e.get(e.s, e.k, q, true)
		if want := fmt.Sprintf("m%06d", i); body != want {
			t.Fatalf("get %d: %q, want %q", i, body, want)
		}
		if i%3 == 0 && d.Message.Headers == nil {
			t.Fatalf("message %d lost its headers", i)
		}
		if d.MessageCount != uint32(n-i-1) {
			t.Fatalf("get %d: message count %d, want %d", i, d.MessageCount, n-i-1)
		}
	}
	e.consume(e.s, q, true)
	ds := e.k.take()
	if len(ds) != n-n/2 {
		t.Fatalf("consumer got %d, want %d", len(ds), n-n/2)
	}
	for j, d := range ds {
		if want := fmt.Sprintf("m%06d", n/2+j); string(d.Message.Body) != want {
			t.Fatalf("delivery %d: %q, want %q", j, d.Message.Body, want)
		}
		if !bytes.Equal(d.Message.Properties, noProps) && (n/2+j)%3 != 0 {
			t.Fatalf("delivery %d: properties changed", j)
		}
	}
	if info := queueInfo(t, e, q); info.MessagesReady != 0 || info.MessagesPagedOut != 0 || info.MessageBytesReady != 0 {
		t.Fatalf("after draining: %+v", info)
	}
	if f := pageFiles(t, dir); len(f) != 0 {
		t.Fatalf("page files left after draining: %v", f)
	}
}

// A requeued message goes back to its place, ahead of the paged ones.
func TestPagingRequeueKeepsPlace(t *testing.T) {
	e, _ := newPagingEnv(t)
	q := e.declare("rq", nil)
	const n = 3 * pageWindow
	for i := 0; i < n; i++ {
		e.publish("", q, fmt.Sprintf("m%06d", i))
	}
	var tags []uint64
	for i := 0; i < 10; i++ {
		_, d := e.get(e.s, e.k, q, false)
		tags = append(tags, d.DeliveryTag)
	}
	noErr(t, e.s.Nack(tags[len(tags)-1], true, true))
	for i := 0; i < n; i++ {
		body, d := e.get(e.s, e.k, q, true)
		if want := fmt.Sprintf("m%06d", i); body != want {
			t.Fatalf("get %d: %q, want %q", i, body, want)
		}
		if d.Redelivered != (i < 10) {
			t.Fatalf("get %d: redelivered %v", i, d.Redelivered)
		}
	}
}

// A body larger than one read of the page file comes back whole.
func TestPagingLargeBodies(t *testing.T) {
	e, _ := newPagingEnv(t)
	q := e.declare("big", nil)
	big := strings.Repeat("x", pageReadSize+1000)
	// Enough large bodies to pass the window in bytes.
	const n = pageWindowBytes/(pageReadSize+1000) + 8
	for i := 0; i < n; i++ {
		e.publish("", q, fmt.Sprintf("%04d", i)+big)
	}
	if p := queueInfo(t, e, q).MessagesPagedOut; p == 0 {
		t.Fatal("large bodies were not paged")
	}
	for i := 0; i < n; i++ {
		body, _ := e.get(e.s, e.k, q, true)
		if body != fmt.Sprintf("%04d", i)+big {
			t.Fatalf("get %d: %d octets, prefix %q", i, len(body), body[:min(4, len(body))])
		}
	}
}

// Purge and delete remove the paged messages and their files.
func TestPagingPurgeAndDelete(t *testing.T) {
	e, dir := newPagingEnv(t)
	q := e.declare("p", nil)
	const n = 2 * pageWindow
	for i := 0; i < n; i++ {
		e.publish("", q, "x")
	}
	got, err := e.s.PurgeQueue(q)
	noErr(t, err)
	if got != n {
		t.Fatalf("purged %d, want %d", got, n)
	}
	if info := queueInfo(t, e, q); info.MessagesReady != 0 || info.MessagesPagedOut != 0 {
		t.Fatalf("after purge: %+v", info)
	}
	if f := pageFiles(t, dir); len(f) != 0 {
		t.Fatalf("page files left after purge: %v", f)
	}
	for i := 0; i < n; i++ {
		e.publish("", q, "y")
	}
	e.flushAll(q)
	if len(pageFiles(t, dir)) == 0 {
		t.Fatal("nothing paged")
	}
	count, err := e.s.DeleteQueue(q, false, false)
	noErr(t, err)
	if count != n {
		t.Fatalf("deleted %d, want %d", count, n)
	}
	if f := pageFiles(t, dir); len(f) != 0 {
		t.Fatalf("page files left after delete: %v", f)
	}
}

// flushAll writes q's buffered page records out.
func (e *env) flushAll(name string) {
	e.v.mu.RLock()
	q := e.v.queues[name]
	e.v.mu.RUnlock()
	q.mu.Lock()
	q.flushPages()
	q.mu.Unlock()
}

// syncWriter is a log destination safe for concurrent use.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// When the page file cannot be written, messages stay in memory: nothing
// is lost, and the error is logged once.
func TestPagingWriteFailureKeepsMessages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing", "paging") // never made
	var logs syncWriter
	v := New("/", Options{PageDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(v.Close)
	e := &env{t: t, v: v}
	e.conn = v.Connect()
	e.s, e.k = e.session(e.conn)
	q := e.declare("f", nil)
	const n = 2*pageWindow + pageFlushSize/8
	for i := 0; i < n; i++ {
		e.publish("", q, fmt.Sprintf("m%06d", i))
	}
	if c := strings.Count(logs.String(), "cannot page messages of queue 'f'"); c != 1 {
		t.Fatalf("logged %d times, want once:\n%s", c, logs.String())
	}
	for i := 0; i < n; i++ {
		body, _ := e.get(e.s, e.k, q, true)
		if want := fmt.Sprintf("m%06d", i); body != want {
			t.Fatalf("get %d: %q, want %q", i, body, want)
		}
	}
}
