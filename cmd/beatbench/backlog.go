package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/pflag"
)

// backlogFlags configure the backlog benchmark.
type backlogFlags struct {
	count          int64
	size           int
	persistent     bool
	window         int
	prefetch       int
	noAck          bool
	heartbeat      time.Duration
	maxTime        time.Duration
	blockedTimeout time.Duration
	idleTimeout    time.Duration
	sample         time.Duration
	keep           bool
}

func (f *backlogFlags) register(fs *pflag.FlagSet) {
	fs.Int64VarP(&f.count, "count", "n", 1000000, "messages in the backlog to build")
	fs.IntVarP(&f.size, "size", "s", 16, fmt.Sprintf("message body size in octets (at least %d)", minBody))
	fs.BoolVar(&f.persistent, "persistent", false, "durable queue and delivery_mode 2 (default: transient messages, non-durable queue)")
	fs.IntVar(&f.window, "window", 20000, "messages published but not yet confirmed, at most, while building")
	fs.IntVar(&f.prefetch, "prefetch", 1000, "the draining consumer's basic.qos prefetch-count (manual acks)")
	fs.BoolVar(&f.noAck, "noack", false, "drain with no-ack instead of manual acks (a drain that stops short then loses what was in flight)")
	fs.DurationVar(&f.heartbeat, "heartbeat", 10*time.Second, "heartbeat of the publisher and the consumer (whole seconds, 0 = off)")
	fs.DurationVar(&f.maxTime, "max-time", 30*time.Minute, "bound on each phase (building, draining); a phase that runs out ends cleanly and reports what it reached")
	fs.DurationVar(&f.blockedTimeout, "blocked-timeout", time.Minute, "end building when the broker has held the publisher with connection.blocked (a resource alarm) this long")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", time.Minute, "end draining when no message came for this long")
	fs.DurationVar(&f.sample, "sample", 250*time.Millisecond, "interval between readings of the broker's RSS (needs --pid or --restart)")
	fs.BoolVar(&f.keep, "keep", false, "leave the queue and what is left in it at the end")
}

var backlogMetrics = []metricDef{
	{"built", "msgs", "higher", "backlog reached: the queue's length after building (passive queue.declare, read until stable); when building was cut, messages the broker had not yet read may still arrive later (RabbitMQ reads them once its alarm clears), so drained + left can exceed it"},
	{"build_rate", "msg/s", "higher", "messages confirmed per second while building"},
	{"drain_rate", "msg/s", "higher", "messages delivered per second while draining"},
	{"peak_rss_build", "MiB", "lower", "broker VmRSS, highest reading while building"},
	{"peak_rss_drain", "MiB", "lower", "broker VmRSS, highest reading while draining"},
	{"lost", "msgs", "lower", "confirmed messages neither drained nor left in the queue"},
	{"blocked", "0/1", "", "1 when building stopped short: the broker blocked the publisher (connection.blocked) for --blocked-timeout, or --max-time ran out"},
	{"build_s", "s", "", "time to build: first publish to the last confirm"},
	{"drain_s", "s", "", "time to drain: basic.consume to the last delivery"},
	{"confirmed", "msgs", "", "messages confirmed with basic.ack while building"},
	{"nacked", "msgs", "", "messages refused with basic.nack while building"},
	{"drained", "msgs", "", "messages delivered to the consumer"},
	{"left", "msgs", "", "messages left in the queue after draining"},
	{"blocked_s", "s", "", "time the publisher was blocked by connection.blocked"},
	{"rss_start", "MiB", "", "broker VmRSS before building"},
	{"rss_built", "MiB", "", "broker VmRSS once built"},
	{"rss_drained", "MiB", "", "broker VmRSS once drained"},
}

func newBacklogBench(f *backlogFlags) (*benchmark, error) {
	if f.count < 1 || f.size < minBody || f.window < 1 || f.prefetch < 0 || f.prefetch > 65535 ||
		f.heartbeat < 0 || f.heartbeat%time.Second != 0 || f.maxTime <= 0 || f.blockedTimeout <= 0 ||
		f.idleTimeout <= 0 || f.sample <= 0 {
		return nil, fmt.Errorf("backlog: need --count >= 1, --size >= %d, --window >= 1, --prefetch in 0..65535, whole-second --heartbeat, positive timeouts", minBody)
	}
	mode, drain := "transient", fmt.Sprintf("prefetch %d", f.prefetch)
	if f.persistent {
		mode = "persistent"
	}
	if f.noAck {
		drain = "no-ack"
	}
	return &benchmark{
		Name:  "backlog",
		Title: fmt.Sprintf("backlog %s × %s %s, drained %s", fmtNum(float64(f.count)), sizeName(f.size), mode, drain),
		Params: map[string]string{
			"count": fmt.Sprint(f.count), "size": fmt.Sprint(f.size), "persistent": fmt.Sprint(f.persistent),
			"window": fmt.Sprint(f.window), "prefetch": fmt.Sprint(f.prefetch), "noack": fmt.Sprint(f.noAck),
			"max_time": f.maxTime.String(), "blocked_timeout": f.blockedTimeout.String(), "idle_timeout": f.idleTimeout.String(),
		},
		Metrics: backlogMetrics,
		Run:     func(ctx context.Context, t *target, _ int) (runValues, error) { return runBacklog(ctx, f, t) },
	}, nil
}

func runBacklog(ctx context.Context, f *backlogFlags, t *target) (runValues, error) {
	q := benchQueue("backlog")
	var bits byte
	if f.persistent {
		bits = declareDurable
	}
	if err := declareQueues(ctx, t.EP, []string{q}, bits); err != nil {
		return nil, err
	}
	if !f.keep {
		defer func() {
			if err := deleteQueue(context.Background(), t.EP, q); err != nil {
				progressf(ctx, "deleting queue %s: %v", q, err)
			}
		}()
	}
	rss := startRSSSampler(t.PID, f.sample)
	defer rss.close()
	if t.PID == 0 {
		progressf(ctx, "no --pid for %s: RSS is not measured", t.Label)
	}
	v := runValues{"rss_start": rss.current()}

	b, err := buildBacklog(ctx, f, t.EP, q, rss)
	if err != nil {
		return nil, fmt.Errorf("building: %w", err)
	}
	built, err := settledLength(ctx, t.EP, q, 500*time.Millisecond, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("after building: %w", err)
	}
	v["peak_rss_build"], v["rss_built"] = rss.newPhase(), rss.current()
	v["built"], v["confirmed"], v["nacked"] = float64(built), float64(b.confirmed), float64(b.nacked)
	v["build_s"], v["blocked_s"] = b.took.Seconds(), b.blockedFor.Seconds()
	v["build_rate"] = float64(b.confirmed) / b.took.Seconds()
	v["blocked"] = 0
	if b.stopped != "" {
		v["blocked"] = 1
	}
	progressf(ctx, "built %d in %.1fs (%.0f confirmed/s), RSS %.0f MiB (peak %.0f)%s",
		built, b.took.Seconds(), v["build_rate"], v["rss_built"], v["peak_rss_build"], b.note())

	d, err := drainBacklog(ctx, f, t.EP, q, built)
	if err != nil {
		return nil, fmt.Errorf("draining: %w", err)
	}
	left, err := settledLength(ctx, t.EP, q, 500*time.Millisecond, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("after draining: %w", err)
	}
	v["peak_rss_drain"], v["rss_drained"] = rss.newPhase(), rss.current()
	v["drained"], v["left"], v["drain_s"] = float64(d.drained), float64(left), d.took.Seconds()
	if d.took > 0 {
		v["drain_rate"] = float64(d.drained) / d.took.Seconds()
	}
	v["lost"] = float64(max(0, b.confirmed-d.drained-left))
	progressf(ctx, "drained %d of %d in %.1fs (%.0f/s), %d left, RSS %.0f MiB (peak %.0f)%s",
		d.drained, built, d.took.Seconds(), v["drain_rate"], left, v["rss_drained"], v["peak_rss_drain"], d.note())
	return v, nil
}

// buildResult is what building a backlog reached.
type buildResult struct {
	confirmed, nacked int64
	took              time.Duration
	blockedFor        time.Duration
	stopped           string // why building stopped short; empty when all was sent and confirmed
}

func (b buildResult) note() string {
	if b.stopped == "" {
		return ""
	}
	return "; stopped short: " + b.stopped
}

// buildBacklog publishes f.count messages to q with confirms, at most f.window
// unconfirmed, and waits for their confirms. It stops short, cleanly, when
// --max-time runs out or the broker holds the publisher with
// connection.blocked for --blocked-timeout; a write the broker does not read
// is then cut.
func buildBacklog(ctx context.Context, f *backlogFlags, ep endpoint, q string, rss *rssSampler) (buildResult, error) {
	var res buildResult
	pub, err := dialPublisher(ctx, ep, uint16(f.heartbeat/time.Second), true)
	if err != nil {
		return res, err
	}
	pub.persistent = f.persistent
	pub.blocks = &blockTracker{}
	var st flowStats
	win := newGate(int64(f.window))
	pub.started = true
	go pub.readLoop(&st, win)
	defer pub.shutdown()

	stop := make(chan struct{})
	var stopOnce sync.Once
	var why string // set before stop closes
	halt := func(reason string) {
		stopOnce.Do(func() {
			why = reason
			close(stop)
			pub.abortWrite()
		})
	}
	start := time.Now()
	done := make(chan struct{})
	watchdog := make(chan struct{})
	go func() {
		defer close(watchdog)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		lastLog := start
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				halt(ctx.Err().Error())
				return
			case now := <-tick.C:
				bs := pub.blocks.state()
				switch {
				case now.Sub(start) >= f.maxTime:
					halt(fmt.Sprintf("--max-time %v ran out", f.maxTime))
					return
				case bs.Blocked && bs.For >= f.blockedTimeout:
					halt(fmt.Sprintf("the broker blocked the publisher (connection.blocked: %s) for %v", bs.Reason, bs.For.Round(100*time.Millisecond)))
					return
				}
				if now.Sub(lastLog) >= 5*time.Second {
					lastLog = now
					el := now.Sub(start).Seconds()
					blocked := ""
					if bs.Blocked {
						blocked = fmt.Sprintf(", BLOCKED (%s) for %.0fs", bs.Reason, bs.For.Seconds())
					}
					progressf(ctx, "building: %d of %d confirmed (%.0f/s), RSS %.0f MiB%s",
						st.confirmed.Load(), f.count, float64(st.confirmed.Load())/el, rss.current(), blocked)
				}
			}
		}
	}()
	defer func() {
		close(done)
		<-watchdog
	}()

	tmpl, off := publishTemplate(q, f.size, pub.h.Tune.FrameMax, pub.deliveryMode())
	batch := int64(autoBatch(f.size, 0, f.window))
	buf := make([]byte, 0, int(batch)*len(tmpl))
	var sent int64
publishing:
	for sent < f.count {
		select {
		case <-pub.readDone:
			if pub.lastErr != nil {
				return res, fmt.Errorf("publisher: %w", pub.lastErr)
			}
			break publishing
		default:
		}
		k := win.acquire(min(batch, f.count-sent), stop)
		if k == 0 {
			break
		}
		buf = buf[:0]
		ts := uint64(nowNanos())
		for range k {
			sent++
			at := len(buf) + off
			buf = append(buf, tmpl...)
			binary.BigEndian.PutUint64(buf[at:], ts)
			binary.BigEndian.PutUint64(buf[at+8:], uint64(sent))
		}
		st.attempted.Add(k)
		if _, err := pub.w.Write(buf); err != nil {
			if pub.stopping.Load() {
				break
			}
			return res, fmt.Errorf("publisher: %w", err)
		}
		st.published.Add(k)
	}
	// The confirms of the last window.
	for st.confirmed.Load() < st.published.Load() {
		select {
		case <-stop:
		case <-pub.readDone:
		case <-time.After(2 * time.Millisecond):
			continue
		}
		break
	}
	res.took = time.Since(start)
	select {
	case <-stop:
		res.stopped = why
	case <-pub.readDone:
		if pub.lastErr != nil {
			return res, fmt.Errorf("publisher: %w", pub.lastErr)
		}
	default:
	}
	res.confirmed = st.confirmed.Load() - st.nacked.Load()
	res.nacked = st.nacked.Load()
	res.blockedFor = pub.blocks.state().Total
	return res, nil
}

// drainResult is what draining a backlog reached.
type drainResult struct {
	drained int64
	took    time.Duration
	stopped string // why draining stopped short
}

func (d drainResult) note() string {
	if d.stopped == "" {
		return ""
	}
	return "; stopped short: " + d.stopped
}

// drainBacklog consumes from q at full speed until want messages came, no
// message came for --idle-timeout, or --max-time ran out.
func drainBacklog(ctx context.Context, f *backlogFlags, ep endpoint, q string, want int64) (drainResult, error) {
	var res drainResult
	cons, err := dialConsumer(ctx, ep, uint16(f.heartbeat/time.Second), q,
		consumerOptions{Acks: !f.noAck, Durable: f.persistent, Prefetch: uint16(f.prefetch)})
	if err != nil {
		return res, err
	}
	var st flowStats
	st.recordFrom.Store(1 << 62) // no latency is recorded
	st.recordTo.Store(1 << 62)
	start := time.Now()
	consDone := make(chan error, 1)
	go func() { consDone <- cons.consume(newGate(0), &st) }()
	lastN, lastAt, lastLog := int64(0), start, start
	var cerr error
	ended := false
	for !ended {
		n := st.consumed.Load()
		now := time.Now()
		if n != lastN {
			lastN, lastAt = n, now
		}
		switch {
		case n >= want:
			ended = true
		case now.Sub(start) >= f.maxTime:
			res.stopped = fmt.Sprintf("--max-time %v ran out", f.maxTime)
			ended = true
		case now.Sub(lastAt) >= f.idleTimeout:
			res.stopped = fmt.Sprintf("no message for %v", f.idleTimeout)
			ended = true
		}
		if ended {
			break
		}
		if now.Sub(lastLog) >= 5*time.Second {
			lastLog = now
			progressf(ctx, "draining: %d of %d (%.0f/s)", n, want, float64(n)/now.Sub(start).Seconds())
		}
		select {
		case err := <-consDone:
			cerr = fmt.Errorf("consumer ended: %v", err)
			ended = true
		case <-ctx.Done():
			cerr = ctx.Err()
			ended = true
		case <-time.After(2 * time.Millisecond):
		}
	}
	res.took = lastAt.Sub(start)
	if cerr == nil {
		cons.stopReading()
		cerr = <-consDone
		if cerr == nil {
			cerr = cons.closeWait(10 * time.Second)
		} else {
			cons.close()
		}
	} else {
		cons.close()
	}
	res.drained = st.consumed.Load()
	return res, cerr
}
