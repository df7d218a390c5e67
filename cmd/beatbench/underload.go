package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/pflag"
)

// underloadFlags configure the underload benchmark.
type underloadFlags struct {
	heartbeat   time.Duration
	duration    time.Duration
	size        int
	consumeRate float64
	prefetch    int
	maxBacklog  int
}

func (f *underloadFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.heartbeat, "heartbeat", time.Second, "heartbeat T of all three connections (whole seconds)")
	fs.DurationVarP(&f.duration, "duration", "d", 20*time.Second, "how long the load runs")
	fs.IntVarP(&f.size, "size", "s", 16, "message body size in octets")
	fs.Float64Var(&f.consumeRate, "consume-rate", 1000, "the slow consumer's messages per second (manual acks)")
	fs.IntVar(&f.prefetch, "prefetch", 100, "the slow consumer's basic.qos prefetch-count")
	fs.IntVar(&f.maxBacklog, "max-backlog", 0, "cap on published-but-not-consumed messages (0: none, the publisher runs flat out)")
}

var underloadMetrics = []metricDef{
	{"false_closes", "conns", "lower", "connections (of publisher, consumer, idle watcher) closed during the run"},
	{"max_gap", "T", "lower", "largest gap between heartbeat frames seen by the idle connection (from its connection.open on)"},
	{"p99_gap", "T", "lower", "99th percentile of those gaps"},
	{"heartbeats", "frames", "", "heartbeat frames the idle connection received"},
	{"publish_rate", "msg/s", "", "the saturating publisher's rate"},
	{"consume_rate", "msg/s", "", "the slow consumer's rate"},
}

func newUnderloadBench(f *underloadFlags) (*benchmark, error) {
	if f.heartbeat < time.Second || f.heartbeat%time.Second != 0 || f.duration <= 0 || f.size < minBody ||
		f.prefetch < 0 || f.prefetch > 65535 {
		return nil, fmt.Errorf("underload: bad --heartbeat, --duration, --size or --prefetch")
	}
	return &benchmark{
		Name:  "underload",
		Title: fmt.Sprintf("underload T=%v D=%v", f.heartbeat, f.duration),
		Params: map[string]string{
			"heartbeat": f.heartbeat.String(), "duration": f.duration.String(), "size": fmt.Sprint(f.size),
			"consume_rate": fmt.Sprint(f.consumeRate), "prefetch": fmt.Sprint(f.prefetch), "max_backlog": fmt.Sprint(f.maxBacklog),
		},
		Metrics: underloadMetrics,
		Run:     func(ctx context.Context, t *target, _ int) (runValues, error) { return runUnderload(ctx, f, t) },
	}, nil
}

// hbWatcher is an idle connection that answers heartbeats and timestamps the
// broker's.
type hbWatcher struct {
	c     *rawClient
	mu    sync.Mutex
	times []time.Time
	err   error // why the connection ended, if the broker ended it
	done  chan struct{}
}

func startWatcher(ctx context.Context, ep endpoint, hb uint16) (*hbWatcher, error) {
	h, err := openRaw(ctx, ep, dialOptions{Heartbeat: hb, KeepReader: true})
	if err != nil {
		return nil, fmt.Errorf("idle connection: %w", err)
	}
	c := &rawClient{h: h, fr: h.Reader, w: &lockedWriter{w: h.Conn}, stopHB: make(chan struct{}), hbDone: make(chan struct{})}
	w := &hbWatcher{c: c, times: []time.Time{h.LastSent}, done: make(chan struct{})}
	go func() {
		defer close(c.hbDone)
		runHeartbeats(c.w, time.Duration(hb)*time.Second/2, c.stopHB)
	}()
	go w.read()
	return w, nil
}

func (w *hbWatcher) read() {
	defer close(w.done)
	for {
		typ, _, payload, err := w.c.fr.read()
		if err != nil {
			w.mu.Lock()
			w.err = w.c.readErr(err)
			w.mu.Unlock()
			return
		}
		switch typ {
		case frameHeartbeat:
			w.mu.Lock()
			w.times = append(w.times, time.Now())
			w.mu.Unlock()
		case frameMethod:
			if id, r, err := methodOf(payload); err == nil && id == idConnectionClose {
				w.mu.Lock()
				w.err = parseClose(r)
				w.mu.Unlock()
				return
			}
		}
	}
}

// closedEarly reports whether the broker ended the connection.
func (w *hbWatcher) closedEarly() error {
	select {
	case <-w.done:
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.err == nil {
			return fmt.Errorf("idle connection closed")
		}
		return fmt.Errorf("idle connection: %w", w.err)
	default:
		return nil
	}
}

// gaps returns the intervals between consecutive heartbeat frames (the first
// measured from the handshake's last write), in units of T.
func (w *hbWatcher) gaps(T time.Duration) []float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return gapsInT(w.times, T)
}

func gapsInT(times []time.Time, T time.Duration) []float64 {
	var g []float64
	for i := 1; i < len(times); i++ {
		g = append(g, times[i].Sub(times[i-1]).Seconds()/T.Seconds())
	}
	return g
}

func (w *hbWatcher) stop() {
	w.c.stopReading()
	<-w.done
	w.c.close()
}

func runUnderload(ctx context.Context, f *underloadFlags, t *target) (runValues, error) {
	hb := uint16(f.heartbeat / time.Second)
	q := benchQueue("ul")
	watcher, err := startWatcher(ctx, t.EP, hb)
	if err != nil {
		return nil, err
	}
	defer func() {
		if watcher != nil {
			watcher.stop()
		}
	}()
	cons, err := dialConsumer(ctx, t.EP, hb, q, consumerOptions{Acks: true, Prefetch: uint16(f.prefetch), Rate: f.consumeRate})
	if err != nil {
		return nil, err
	}
	pub, err := dialPublisher(ctx, t.EP, hb, false)
	if err != nil {
		cons.close()
		_ = deleteQueue(ctx, t.EP, q)
		return nil, err
	}
	r := newFlowRun(f.maxBacklog, 0)
	var closes []string
	var cmu sync.Mutex
	noteClose := func(who string, err error) {
		cmu.Lock()
		defer cmu.Unlock()
		closes = append(closes, fmt.Sprintf("%s: %v", who, err))
	}
	r.side(func() error {
		err := cons.consume(r.backlog, &r.st)
		if err != nil {
			noteClose("consumer", err)
		}
		return nil
	})
	batch := autoBatch(f.size, f.maxBacklog, 0)
	r.side(func() error {
		err := pub.publish(r.stop, q, f.size, batch, r.backlog, r.confirm, &r.st)
		if err != nil {
			noteClose("publisher", err)
		}
		return nil
	})
	start := time.Now()
	p0, c0 := r.st.published.Load(), r.st.consumed.Load()
	end := start.Add(f.duration)
	var werr error
	for time.Until(end) > 0 && werr == nil {
		if err := sleepCtx(ctx, min(5*time.Second, time.Until(end))); err != nil {
			break
		}
		werr = watcher.closedEarly()
		el := time.Since(start).Seconds()
		g := summarize(watcher.gaps(f.heartbeat))
		progressf(ctx, "%.0fs: published %.0f/s, consumed %.0f/s, backlog %d, heartbeat gaps max %.3fT",
			el, float64(r.st.published.Load()-p0)/el, float64(r.st.consumed.Load()-c0)/el, r.st.published.Load()-r.st.consumed.Load(), g.Max)
	}
	el := time.Since(start).Seconds()
	pubRate := float64(r.st.published.Load()-p0) / el
	consRate := float64(r.st.consumed.Load()-c0) / el
	if werr == nil {
		werr = watcher.closedEarly()
	}
	if werr != nil {
		noteClose("idle", werr)
	}
	gaps := watcher.gaps(f.heartbeat)
	watcher.stop()
	watcher = nil
	close(r.stop)
	pub.shutdown()
	cons.stopReading()
	_ = r.g.wait()
	cons.close()
	if err := deleteQueue(context.Background(), t.EP, q); err != nil {
		progressf(ctx, "deleting queue %s: %v", q, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, c := range closes {
		progressf(ctx, "closed during the run: %s", c)
	}
	g := summarize(gaps)
	return runValues{
		"false_closes": float64(len(closes)), "max_gap": g.Max, "p99_gap": g.P99, "heartbeats": float64(len(gaps)),
		"publish_rate": pubRate, "consume_rate": consRate,
	}, nil
}
