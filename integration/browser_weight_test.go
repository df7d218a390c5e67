//go:build integration

package integration

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	amqp "github.com/rabbitmq/amqp091-go"
)

// weightConns is how many connections TestBrowserConnectionsWeight opens.
const weightConns = 1000

// TestBrowserConnectionsWeight measures the connections page with 1,000
// amqp091-go connections open: a cold load of #/connections (browser cache
// off) — bytes transferred by every request (Network events), the time
// until the table has 1,000 rows — then ten seconds of the page's own
// refreshes (bytes per second, main-thread time from Performance metrics).
// It logs the figures and asserts nothing about them (only that the table
// fills). Opt-in, as it takes a while: BEATMQ_BROWSER_WEIGHT=1, or
// `make browser-weight`.
func TestBrowserConnectionsWeight(t *testing.T) {
	skipBrowserOnRabbitMQ(t)
	if os.Getenv("BEATMQ_BROWSER_WEIGHT") == "" {
		t.Skip("opt-in: set BEATMQ_BROWSER_WEIGHT=1 (`make browser-weight`) to open 1,000 connections and measure the connections page")
	}
	b := startBrowserBroker(t, 60)
	conns := dialMany(t, b, weightConns)
	pollUntil(t, 60*time.Second, fmt.Sprintf("the broker lists %d connections", len(conns)), func() (bool, error) {
		cs, err := b.connections(context.Background())
		return err == nil && len(cs) == len(conns), err
	})

	br := startBrowser(t)
	tb := br.first
	tb.login(b, "guest", "guest")
	rec := &netRecorder{reqs: make(map[network.RequestID]*netRequest)}
	if err := chromedp.Listen(tb.ctx, rec.listen); err != nil {
		t.Fatal(err)
	}
	tb.do(10*time.Second, "turn the browser cache and Performance metrics on",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, performance.Enable, performance.EnableParams{})
			return err
		}))

	// A cold load of the connections page: away to about:blank first, so
	// that the navigation loads a new document rather than changing the
	// hash (the session is in sessionStorage, which the tab keeps).
	rows := fmt.Sprintf(`document.querySelectorAll('#connections tr[data-name]').length >= %d`, weightConns)
	tb.do(10*time.Second, "leave the page", chromedp.Navigate("about:blank"))
	rec.reset()
	start := time.Now()
	tb.do(60*time.Second, "load #/connections", chromedp.Navigate(b.MgmtURL()+"/#/connections"))
	loaded := time.Since(start)
	waitFast(t, tb, 60*time.Second, "the table has 1,000 rows", rows)
	rendered := time.Since(start)
	inPage := mustEval[float64](tb, `performance.now()`)
	first := rec.snapshot()
	api := mustEval[map[string]float64](tb, `(() => {
		const e = performance.getEntriesByType('resource').find((r) => new URL(r.name).pathname === '/api/connections');
		return e ? {duration: e.duration, start: e.startTime, end: e.responseEnd, transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize} : {};
	})()`)

	t.Logf("connections page, cold load, %d connections:", weightConns)
	t.Logf("  time to the table's %d rows: %v after the navigation began (load event after %v; performance.now() %.0f ms)",
		weightConns, rendered.Round(time.Millisecond), loaded.Round(time.Millisecond), inPage)
	t.Logf("  GET /api/connections: %.0f ms from request to last byte (started at %.0f ms), %.0f bytes of body (%.0f transferred)",
		api["duration"], api["start"], api["decoded"], api["transfer"])
	t.Logf("  transferred: %d bytes in %d requests (headers included):", first.total, len(first.byURL))
	for _, l := range first.lines() {
		t.Logf("    %s", l)
	}

	// Steady state: the page refreshes the table on its own.
	m0 := metrics(t, tb)
	rec.reset()
	const window = 10 * time.Second
	time.Sleep(window) // the measurement window itself
	steady := rec.snapshot()
	m1 := metrics(t, tb)
	waitFast(t, tb, 10*time.Second, "the table still has 1,000 rows", rows)
	polls := steady.count("/api/connections")
	t.Logf("  then %v of the page's refreshes: %d GETs of /api/connections, %d bytes (%.0f kB/s)",
		window, polls, steady.total, float64(steady.total)/window.Seconds()/1000)
	busy := func(k string) float64 { return (m1[k] - m0[k]) * 1000 }
	t.Logf("  main thread in those %v: script %.0f ms, layout %.0f ms, style %.0f ms, all tasks %.0f ms (%.0f ms per refresh); JS heap %.1f MB",
		window, busy("ScriptDuration"), busy("LayoutDuration"), busy("RecalcStyleDuration"), busy("TaskDuration"),
		busy("TaskDuration")/max(float64(polls), 1), m1["JSHeapUsedSize"]/1e6)
	tb.noErrors(t)
}

// dialMany opens n amqp091-go connections (heartbeat 60 s), 16 at a time,
// and closes them when the test ends.
func dialMany(t *testing.T, b *browserBroker, n int) []*amqp.Connection {
	t.Helper()
	conns := make([]*amqp.Connection, n)
	errs := make(chan error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range next {
				c, err := b.dial(fmt.Sprintf("weight-%04d", i), 60*time.Second)
				if err != nil {
					errs <- err
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatalf("opening %d connections: %v", n, err)
	}
	return conns
}

// waitFast is waitJS polling every 10 ms, for a measurement.
func waitFast(t *testing.T, tb *tab, timeout time.Duration, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ok, err := eval[bool](tb, expr); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s%s", timeout, what, tb.consoleNote())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metrics reads Chromium's Performance metrics for the tab.
func metrics(t *testing.T, tb *tab) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]float64, len(res.Metrics))
	for _, x := range res.Metrics {
		m[x.Name] = x.Value
	}
	return m
}

// netRecorder adds up, per request, the bytes Chromium received for it
// (Network.loadingFinished's encodedDataLength: headers and body as on the
// wire).
type netRecorder struct {
	mu   sync.Mutex
	reqs map[network.RequestID]*netRequest
}

type netRequest struct {
	url      string
	finished bool
	bytes    int64
}

// listen is the tab's event listener (chromedp.Listen).
func (r *netRecorder) listen(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.reqs[ev.RequestID] = &netRequest{url: ev.Request.URL}
	case *network.EventLoadingFinished:
		if q := r.reqs[ev.RequestID]; q != nil {
			q.finished, q.bytes = true, int64(ev.EncodedDataLength)
		}
	}
}

// reset forgets every request seen so far.
func (r *netRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.reqs)
}

// netSnapshot is the finished requests' bytes by URL path.
type netSnapshot struct {
	total  int64
	byURL  map[string][]int64
	counts map[string]int
}

// snapshot sums the finished requests since the last reset.
func (r *netRecorder) snapshot() netSnapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := netSnapshot{byURL: make(map[string][]int64), counts: make(map[string]int)}
	for _, q := range r.reqs {
		if !q.finished {
			continue
		}
		p := q.url
		if u, err := url.Parse(q.url); err == nil {
			p = u.Path
		}
		s.total += q.bytes
		s.byURL[p] = append(s.byURL[p], q.bytes)
		s.counts[p]++
	}
	return s
}

// count is the number of finished requests for path.
func (s netSnapshot) count(path string) int { return s.counts[path] }

// lines lists path, count and bytes, largest first.
func (s netSnapshot) lines() []string {
	type row struct {
		path  string
		n     int
		bytes int64
	}
	var rows []row
	for p, bs := range s.byURL {
		var sum int64
		for _, b := range bs {
			sum += b
		}
		rows = append(rows, row{p, len(bs), sum})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].bytes > rows[j].bytes })
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%-36s %2d× %9d bytes", r.path, r.n, r.bytes))
	}
	return out
}
