package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
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
}

var throughputMetrics = []metricDef{
	{"publish_rate", "msg/s", "higher", "messages published per second over the window"},
	{"consume_rate", "msg/s", "higher", "messages delivered to the consumer per second over the window"},
	{"latency_p50", "ms", "lower", "median end-to-end latency (publish to delivery, from a timestamp in the body)"},
	{"latency_p99", "ms", "lower", "99th percentile end-to-end latency"},
	{"client_cpu", "ms/s", "", "beatbench's own CPU per second over the window (it shares the machine)"},
	{"confirm_rate", "msg/s", "higher", "publisher confirms received per second (with --confirms)"},
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
		metrics = metrics[:len(metrics)-1]
	}
	return &benchmark{
		Name:  "throughput",
		Title: fmt.Sprintf("throughput %d B %s %v", f.size, mode, f.duration),
		Params: map[string]string{
			"size": fmt.Sprint(f.size), "mode": mode, "duration": f.duration.String(), "warmup": f.warmup.String(),
			"prefetch": fmt.Sprint(f.prefetch), "max_backlog": fmt.Sprint(f.maxBacklog),
			"max_unconfirmed": fmt.Sprint(f.maxUnconfirmed), "batch": fmt.Sprint(f.batch), "client": f.client,
			"heartbeat": f.heartbeat.String(),
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

// measure waits out the warmup, then counts over the window.
func (r *flowRun) measure(ctx context.Context, warmup, window time.Duration) (pub, cons, conf, client float64, err error) {
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
		return 0, 0, 0, 0, err
	}
	self0, _ := readProc(os.Getpid())
	p0, c0, f0, t0 := r.st.published.Load(), r.st.consumed.Load(), r.st.confirmed.Load(), time.Now()
	end := t0.Add(window)
	for time.Until(end) > 0 {
		if err := wait(min(5*time.Second, time.Until(end))); err != nil {
			return 0, 0, 0, 0, err
		}
		el := time.Since(t0).Seconds()
		if time.Until(end) > 500*time.Millisecond {
			progressf(ctx, "%.0fs: published %.0f/s, consumed %.0f/s, backlog %d", el,
				float64(r.st.published.Load()-p0)/el, float64(r.st.consumed.Load()-c0)/el, r.backlog.outstanding())
		}
	}
	el := time.Since(t0).Seconds()
	pub = float64(r.st.published.Load()-p0) / el
	cons = float64(r.st.consumed.Load()-c0) / el
	conf = float64(r.st.confirmed.Load()-f0) / el
	if self1, err := readProc(os.Getpid()); err == nil && self0.RSSBytes != 0 {
		client = float64(self1.CPU-self0.CPU) / float64(time.Millisecond) / self1.At.Sub(self0.At).Seconds()
	}
	return pub, cons, conf, client, nil
}

func runThroughput(ctx context.Context, f *throughputFlags, t *target) (runValues, error) {
	q := benchQueue("tp")
	r := newFlowRun(f.maxBacklog, f.maxUnconfirmed)
	var hist *histogram
	var cleanup func()
	var err error
	if f.client == "raw" {
		hist, cleanup, err = startRawFlow(ctx, f, t, q, r)
	} else {
		hist, cleanup, err = startAMQP091Flow(ctx, f, t, q, r)
	}
	if err != nil {
		return nil, err
	}
	pub, cons, conf, client, merr := r.measure(ctx, f.warmup, f.duration)
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
		"publish_rate": pub, "consume_rate": cons,
		"latency_p50": float64(hist.quantile(0.50)) / float64(time.Millisecond),
		"latency_p99": float64(hist.quantile(0.99)) / float64(time.Millisecond),
		"client_cpu":  client,
	}
	if f.confirms {
		v["confirm_rate"] = conf
	}
	return v, nil
}

// startRawFlow starts the tool's own publisher and consumer; cleanup stops
// them (after r.stop is closed).
func startRawFlow(ctx context.Context, f *throughputFlags, t *target, q string, r *flowRun) (*histogram, func(), error) {
	hb := uint16(f.heartbeat / time.Second)
	cons, err := dialConsumer(ctx, t.EP, hb, q, consumerOptions{Acks: f.acks, Prefetch: uint16(f.prefetch)})
	if err != nil {
		return nil, nil, err
	}
	pub, err := dialPublisher(ctx, t.EP, hb, f.confirms)
	if err != nil {
		cons.close()
		_ = deleteQueue(ctx, t.EP, q)
		return nil, nil, err
	}
	r.side(func() error { return cons.consume(r.backlog, &r.st) })
	r.side(func() error { return pub.publish(r.stop, q, f.size, f.batch, r.backlog, r.confirm, &r.st) })
	return &cons.hist, func() {
		pub.shutdown()
		cons.stopReading()
		r.g.wg.Wait()
		cons.close()
	}, nil
}

// startAMQP091Flow does the same with github.com/rabbitmq/amqp091-go.
func startAMQP091Flow(ctx context.Context, f *throughputFlags, t *target, q string, r *flowRun) (*histogram, func(), error) {
	cfg := amqp091.Config{Heartbeat: f.heartbeat, Locale: "en_US"}
	cconn, err := amqp091.DialConfig(t.URL, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("consumer: %w", err)
	}
	pconn, err := amqp091.DialConfig(t.URL, cfg)
	if err != nil {
		cconn.Close()
		return nil, nil, fmt.Errorf("publisher: %w", err)
	}
	fail := func(err error) (*histogram, func(), error) {
		pconn.Close()
		cconn.Close()
		return nil, nil, err
	}
	cch, err := cconn.Channel()
	if err != nil {
		return fail(err)
	}
	if _, err := cch.QueueDeclare(q, false, false, false, false, nil); err != nil {
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
	hist := &histogram{}
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
			if err := pch.PublishWithContext(ctx, "", q, false, false, amqp091.Publishing{Body: body}); err != nil {
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
	return hist, func() {
		// The publisher returns at its next gate check once r.stop is closed.
		pconn.Close()
		<-confirmsDone
		cconn.Close()
	}, nil
}
