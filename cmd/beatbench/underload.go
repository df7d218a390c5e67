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
