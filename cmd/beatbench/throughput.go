package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/spf13/pflag"
)

// throughputFlags configure the throughput benchmark.
type throughputFlags struct {
	size           int
	duration       time.Duration
	warmup         time.Duration
	confirms       bool
	acks           bool
	prefetch       int
	maxBacklog     int
	maxUnconfirmed int
	batch          int
	client         string
	heartbeat      time.Duration
	durable        bool
	persistent     bool
	io             bool
	countSyncs     string
}

func (f *throughputFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.size, "size", "s", 16, fmt.Sprintf("message body size in octets (at least %d: timestamp and sequence number)", minBody))
	fs.DurationVarP(&f.duration, "duration", "d", 10*time.Second, "measurement window")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "traffic before the window that is not counted")
	fs.BoolVar(&f.confirms, "confirms", false, "publisher confirms (confirm.select)")
	fs.BoolVar(&f.acks, "acks", false, "manual consumer acks (one basic.ack per message) instead of no-ack")
	fs.IntVar(&f.prefetch, "prefetch", 1000, "basic.qos prefetch-count with --acks")
	fs.IntVar(&f.maxBacklog, "max-backlog", 5000, "the publisher pauses while more than this many messages are published but not consumed (0: no cap)")
	fs.IntVar(&f.maxUnconfirmed, "max-unconfirmed", 0, "with --confirms, the publisher pauses while more than this many are unconfirmed (0: same as --max-backlog)")
	fs.IntVar(&f.batch, "batch", 0, "raw client: messages per write (0: as many as fit 64 KiB, at most a quarter of the caps)")
	fs.StringVar(&f.client, "client", "raw", "client: raw (the tool's own, batched writes) or amqp091 (github.com/rabbitmq/amqp091-go, one write per message; with --confirms keep --max-unconfirmed small, e.g. 100, as its confirm bookkeeping costs O(outstanding) per multiple ack)")
	fs.DurationVar(&f.heartbeat, "heartbeat", 10*time.Second, "heartbeat asked for by both connections (whole seconds, 0 = off)")
	fs.BoolVar(&f.durable, "durable", false, "declare the queue durable (it is deleted at the end of the run all the same)")
	fs.BoolVar(&f.persistent, "persistent", false, "publish with delivery_mode 2 (persistent)")
	fs.BoolVar(&f.io, "io", false, "also measure the broker's disk writes (/proc/PID/io write_bytes) and CPU over the window; needs --pid or --restart")
	fs.StringVar(&f.countSyncs, "count-syncs", "", "also count the broker's fdatasync and fsync calls over the window: perf (tracepoints on every CPU, negligible cost, same run) or strace (ptrace: slows the broker, so use it in a separate run); needs --pid or --restart")
}

var throughputMetrics = []metricDef{
	{"publish_rate", "msg/s", "higher", "messages published per second over the window"},
	{"consume_rate", "msg/s", "higher", "messages delivered to the consumer per second over the window"},
	{"latency_p50", "ms", "lower", "median end-to-end latency (publish to delivery, from a timestamp in the body)"},
	{"latency_p99", "ms", "lower", "99th percentile end-to-end latency"},
	{"client_cpu", "ms/s", "", "beatbench's own CPU per second over the window (it shares the machine)"},
	{"confirm_rate", "msg/s", "higher", "publisher confirms received per second (with --confirms)"},
	{"confirm_p50", "ms", "lower", "median latency from publish to its confirm (with --confirms)"},
	{"confirm_p99", "ms", "lower", "99th percentile latency from publish to its confirm (with --confirms)"},
}

// autoBatch picks the raw publisher's messages per write.
func autoBatch(size, maxBacklog, maxUnconfirmed int) int {
	b := (64 << 10) / (size + 100)
	for _, c := range []int{maxBacklog, maxUnconfirmed} {
		if c > 0 {
			b = min(b, max(1, c/4))
		}
	}
	return max(1, min(b, 1000))
}

func newThroughputBench(f *throughputFlags) (*benchmark, error) {
	if f.size < minBody {
		return nil, fmt.Errorf("throughput: --size must be at least %d", minBody)
	}
	if f.client != "raw" && f.client != "amqp091" {
		return nil, fmt.Errorf("throughput: --client must be raw or amqp091")
	}
	if f.duration <= 0 || f.prefetch < 0 || f.prefetch > 65535 || f.heartbeat%time.Second != 0 {
		return nil, fmt.Errorf("throughput: bad --duration, --prefetch or --heartbeat")
	}
	if f.maxUnconfirmed == 0 {
		f.maxUnconfirmed = f.maxBacklog
	}
	if f.batch == 0 {
		f.batch = autoBatch(f.size, f.maxBacklog, f.maxUnconfirmed)
	}
	if f.countSyncs != "" && f.countSyncs != "perf" && f.countSyncs != "strace" {
		return nil, fmt.Errorf("throughput: --count-syncs must be perf or strace")
	}
	mode := "plain"
	switch {
	case f.confirms && f.acks:
		mode = "confirms+acks"
	case f.confirms:
		mode = "confirms"
	case f.acks:
		mode = "acks"
	}
	metrics := throughputMetrics
	if !f.confirms {
		metrics = metrics[:len(metrics)-3]
	}
	if f.io {
		metrics = append(slices.Clip(metrics), ioMetrics...)
	}
	if f.countSyncs != "" {
		metrics = append(slices.Clip(metrics), syncMetrics...)
	}
	title := fmt.Sprintf("throughput %d B %s %v", f.size, mode, f.duration)
	switch {
	case f.durable && f.persistent:
		title = fmt.Sprintf("persistent %d B %s %v", f.size, mode, f.duration)
	case f.durable:
		title = fmt.Sprintf("throughput %d B %s durable queue %v", f.size, mode, f.duration)
	case f.persistent:
		title = fmt.Sprintf("throughput %d B %s delivery_mode 2 %v", f.size, mode, f.duration)
	}
	return &benchmark{
		Name:  "throughput",
		Title: title,
		Params: map[string]string{
			"size": fmt.Sprint(f.size), "mode": mode, "duration": f.duration.String(), "warmup": f.warmup.String(),
			"prefetch": fmt.Sprint(f.prefetch), "max_backlog": fmt.Sprint(f.maxBacklog),
			"max_unconfirmed": fmt.Sprint(f.maxUnconfirmed), "batch": fmt.Sprint(f.batch), "client": f.client,
			"heartbeat": f.heartbeat.String(), "durable": fmt.Sprint(f.durable), "persistent": fmt.Sprint(f.persistent),
			"count_syncs": f.countSyncs,
		},
		Metrics: metrics,
		Run:     func(ctx context.Context, t *target, _ int) (runValues, error) { return runThroughput(ctx, f, t) },
	}, nil
}

// flowRun is one publisher/consumer pair in motion, whichever client drives it.
type flowRun struct {
	st       flowStats
	backlog  *gate
	confirm  *gate
	stop     chan struct{}
	g        errGroup
	failed   chan struct{} // closed when either side returns early
	failOnce sync.Once
}

func newFlowRun(maxBacklog, maxUnconfirmed int) *flowRun {
	r := &flowRun{backlog: newGate(int64(maxBacklog)), confirm: newGate(int64(maxUnconfirmed)),
		stop: make(chan struct{}), failed: make(chan struct{})}
	r.st.recordFrom.Store(1 << 62)
	r.st.recordTo.Store(1 << 62)
	return r
}

// side runs one side of the flow; an early return marks the run failed.
func (r *flowRun) side(f func() error) {
	r.g.goRun(func() error {
		err := f()
		select {
		case <-r.stop:
		default:
			r.failOnce.Do(func() { close(r.failed) })
		}
		return err
	})
}

// windowFigures are what flowRun.measure counted.
type windowFigures struct {
	pub, cons, conf, client float64 // per second
	counts                  windowCounts
	probes                  runValues
}

// measure waits out the warmup, then counts over the window; the probes
// measure the broker over the same window.
func (r *flowRun) measure(ctx context.Context, warmup, window time.Duration, probes ...windowProbe) (wf windowFigures, err error) {
	from := nowNanos() + int64(warmup)
	r.st.recordFrom.Store(from)
	r.st.recordTo.Store(from + int64(window))
	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.failed:
			return fmt.Errorf("a client stopped early")
		case <-t.C:
			return nil
		}
	}
	if err := wait(warmup); err != nil {
		return wf, err
	}
	for i, p := range probes {
		if err := p.begin(ctx); err != nil {
			for _, q := range probes[:i] {
				q.abort()
			}
			return wf, err
		}
	}
	done := false
	defer func() {
		if !done {
			for _, p := range probes {
				p.abort()
			}
		}
	}()
	self0, _ := readProc(os.Getpid())
	p0, c0, f0, t0 := r.st.published.Load(), r.st.consumed.Load(), r.st.confirmed.Load(), time.Now()
	end := t0.Add(window)
	for time.Until(end) > 0 {
		if err := wait(min(5*time.Second, time.Until(end))); err != nil {
			return wf, err
		}
		el := time.Since(t0).Seconds()
		if time.Until(end) > 500*time.Millisecond {
			progressf(ctx, "%.0fs: published %.0f/s, consumed %.0f/s, backlog %d", el,
				float64(r.st.published.Load()-p0)/el, float64(r.st.consumed.Load()-c0)/el, r.backlog.outstanding())
		}
	}
	el := time.Since(t0).Seconds()
	published := r.st.published.Load() - p0
	wf.counts = windowCounts{published: published, seconds: el}
	wf.pub = float64(published) / el
	wf.cons = float64(r.st.consumed.Load()-c0) / el
	wf.conf = float64(r.st.confirmed.Load()-f0) / el
	if self1, err := readProc(os.Getpid()); err == nil && self0.RSSBytes != 0 {
		wf.client = float64(self1.CPU-self0.CPU) / float64(time.Millisecond) / self1.At.Sub(self0.At).Seconds()
	}
	done = true
	wf.probes = runValues{}
	var errs []error
	for _, p := range probes {
		v, err := p.end(wf.counts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		maps.Copy(wf.probes, v)
	}
	return wf, errors.Join(errs...)
}

func runThroughput(ctx context.Context, f *throughputFlags, t *target) (runValues, error) {
	var probes []windowProbe
	if f.io || f.countSyncs != "" {
		if t.PID == 0 {
			return nil, fmt.Errorf("--io and --count-syncs need the broker's pid (--pid or --restart)")
		}
		if f.io {
			probes = append(probes, &ioProbe{pid: t.PID})
		}
		if f.countSyncs != "" {
			probes = append(probes, &syncProbe{how: f.countSyncs, pid: t.PID})
		}
	}
	q := benchQueue("tp")
	r := newFlowRun(f.maxBacklog, f.maxUnconfirmed)
	var hist, confirmHist *histogram
	var cleanup func()
	var err error
	if f.client == "raw" {
		hist, confirmHist, cleanup, err = startRawFlow(ctx, f, t, q, r)
	} else {
		hist, confirmHist, cleanup, err = startAMQP091Flow(ctx, f, t, q, r)
	}
	if err != nil {
		return nil, err
	}
	wf, merr := r.measure(ctx, f.warmup, f.duration, probes...)
	close(r.stop)
	cleanup()
	gerr := r.g.wait()
	if derr := deleteQueue(context.Background(), t.EP, q); derr != nil {
		progressf(ctx, "deleting queue %s: %v", q, derr)
	}
	if merr != nil {
		if gerr != nil {
			return nil, fmt.Errorf("%w: %w", merr, gerr)
		}
		return nil, merr
	}
	if gerr != nil {
		return nil, gerr
	}
	if hist.count() == 0 {
		return nil, fmt.Errorf("no message was consumed in the window")
	}
	if n := r.st.nacked.Load(); n > 0 {
		progressf(ctx, "%d messages were nacked", n)
	}
	v := runValues{
		"publish_rate": wf.pub, "consume_rate": wf.cons,
		"latency_p50": float64(hist.quantile(0.50)) / float64(time.Millisecond),
		"latency_p99": float64(hist.quantile(0.99)) / float64(time.Millisecond),
		"client_cpu":  wf.client,
	}
	if f.confirms {
		v["confirm_rate"] = wf.conf
		if confirmHist.count() > 0 {
			v["confirm_p50"] = float64(confirmHist.quantile(0.50)) / float64(time.Millisecond)
			v["confirm_p99"] = float64(confirmHist.quantile(0.99)) / float64(time.Millisecond)
		}
	}
	maps.Copy(v, wf.probes)
	return v, nil
}

// startRawFlow starts the tool's own publisher and consumer; cleanup stops
// them (after r.stop is closed). The histograms are end-to-end latency and
// confirm latency.
func startRawFlow(ctx context.Context, f *throughputFlags, t *target, q string, r *flowRun) (*histogram, *histogram, func(), error) {
	hb := uint16(f.heartbeat / time.Second)
	cons, err := dialConsumer(ctx, t.EP, hb, q, consumerOptions{Acks: f.acks, Prefetch: uint16(f.prefetch), Durable: f.durable})
	if err != nil {
		return nil, nil, nil, err
	}
	pub, err := dialPublisher(ctx, t.EP, hb, f.confirms)
	if err != nil {
		cons.close()
		_ = deleteQueue(ctx, t.EP, q)
		return nil, nil, nil, err
	}
	pub.persistent = f.persistent
	r.side(func() error { return cons.consume(r.backlog, &r.st) })
	r.side(func() error { return pub.publish(r.stop, q, f.size, f.batch, r.backlog, r.confirm, &r.st) })
	return &cons.hist, &pub.confirmHist, func() {
		pub.shutdown()
		cons.stopReading()
		r.g.wg.Wait()
		cons.close()
	}, nil
}

// startAMQP091Flow does the same with github.com/rabbitmq/amqp091-go.
func startAMQP091Flow(ctx context.Context, f *throughputFlags, t *target, q string, r *flowRun) (*histogram, *histogram, func(), error) {
	cfg := amqp091.Config{Heartbeat: f.heartbeat, Locale: "en_US"}
	cconn, err := amqp091.DialConfig(t.URL, cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("consumer: %w", err)
	}
	pconn, err := amqp091.DialConfig(t.URL, cfg)
	if err != nil {
		cconn.Close()
		return nil, nil, nil, fmt.Errorf("publisher: %w", err)
	}
	fail := func(err error) (*histogram, *histogram, func(), error) {
		pconn.Close()
		cconn.Close()
		return nil, nil, nil, err
	}
	cch, err := cconn.Channel()
	if err != nil {
		return fail(err)
	}
	if _, err := cch.QueueDeclare(q, f.durable, false, false, false, nil); err != nil {
		return fail(err)
	}
	if f.acks && f.prefetch > 0 {
		if err := cch.Qos(f.prefetch, 0, false); err != nil {
			return fail(err)
		}
	}
	deliveries, err := cch.Consume(q, "beatbench", !f.acks, false, false, false, nil)
	if err != nil {
		return fail(err)
	}
	pch, err := pconn.Channel()
	if err != nil {
		return fail(err)
	}
	var confirms chan amqp091.Confirmation
	if f.confirms {
		if err := pch.Confirm(false); err != nil {
			return fail(err)
		}
		confirms = pch.NotifyPublish(make(chan amqp091.Confirmation, 4096))
	}
	hist, confirmHist := &histogram{}, &histogram{}
	var sent *sendTimes
	if f.confirms {
		bound := 0
		if f.maxUnconfirmed > 0 {
			bound = f.maxUnconfirmed + 1
		}
		sent = newSendTimes(bound)
	}
	r.side(func() error {
		for d := range deliveries {
			now := nowNanos()
			if len(d.Body) >= 8 && now >= r.st.recordFrom.Load() && now < r.st.recordTo.Load() {
				hist.record(time.Duration(now - int64(binary.BigEndian.Uint64(d.Body))))
			}
			r.st.consumed.Add(1)
			r.backlog.release(1)
			if f.acks {
				if err := d.Ack(false); err != nil {
					select {
					case <-r.stop:
						return nil // the connection is being closed
					default:
						return err
					}
				}
			}
		}
		return nil
	})
	confirmsDone := make(chan struct{})
	if f.confirms {
		go func() {
			defer close(confirmsDone)
			for c := range confirms {
				if now := nowNanos(); now >= r.st.recordFrom.Load() && now < r.st.recordTo.Load() {
					confirmHist.record(time.Duration(now - sent.get(c.DeliveryTag)))
				}
				if !c.Ack {
					r.st.nacked.Add(1)
				}
				r.st.confirmed.Add(1)
				r.confirm.release(1)
			}
		}()
	} else {
		close(confirmsDone)
	}
	var mode uint8
	if f.persistent {
		mode = amqp091.Persistent
	}
	r.side(func() error {
		body := make([]byte, f.size)
		var seq uint64
		for {
			if r.backlog.acquire(1, r.stop) == 0 {
				return nil
			}
			if f.confirms && r.confirm.acquire(1, r.stop) == 0 {
				return nil
			}
			seq++
			binary.BigEndian.PutUint64(body, uint64(nowNanos()))
			binary.BigEndian.PutUint64(body[8:], seq)
			if sent != nil {
				sent.set(seq, int64(binary.BigEndian.Uint64(body)))
			}
			if err := pch.PublishWithContext(ctx, "", q, false, false, amqp091.Publishing{Body: body, DeliveryMode: mode}); err != nil {
				select {
				case <-r.stop:
					return nil
				default:
					return err
				}
			}
			r.st.published.Add(1)
		}
	})
	return hist, confirmHist, func() {
		// The publisher returns at its next gate check once r.stop is closed.
		pconn.Close()
		<-confirmsDone
		cconn.Close()
	}, nil
}
