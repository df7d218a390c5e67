package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// floodFlags configure the flood benchmark.
type floodFlags struct {
	size            int
	duration        time.Duration
	heartbeat       time.Duration
	clientHeartbeat time.Duration
	consumeRate     rateValue
	prefetch        int
	persistent      bool
	maxUnconfirmed  int
	settle          time.Duration
	cutAfter        time.Duration
	sample          time.Duration
	keep            bool
}

func (f *floodFlags) register(fs *pflag.FlagSet) {
	f.consumeRate = 2000
	fs.IntVarP(&f.size, "size", "s", 1024, fmt.Sprintf("message body size in octets (at least %d)", minBody))
	fs.DurationVarP(&f.duration, "duration", "d", 60*time.Second, "how long the publisher floods")
	fs.DurationVar(&f.heartbeat, "heartbeat", 2*time.Second, "heartbeat T of the idle watcher (whole seconds)")
	fs.DurationVar(&f.clientHeartbeat, "client-heartbeat", 0, "heartbeat of the publisher and the consumer (whole seconds; 0: same as --heartbeat)")
	fs.Var(&f.consumeRate, "consume-rate", "the slow consumer's rate, messages per second, as 2000 or 2000/s (0: as fast as it can)")
	fs.IntVar(&f.prefetch, "prefetch", 100, "the slow consumer's basic.qos prefetch-count (manual acks)")
	fs.BoolVar(&f.persistent, "persistent", false, "durable queue and delivery_mode 2")
	fs.IntVar(&f.maxUnconfirmed, "max-unconfirmed", 0, "the publisher pauses while this many messages are unconfirmed (0: no bound, flat out)")
	fs.DurationVar(&f.settle, "settle", 30*time.Second, "after the publisher stops, how long to wait for the confirms of what it sent")
	fs.DurationVar(&f.cutAfter, "cut-after", 5*time.Second, "at the end, how long the publisher's last write may wait for the broker to read it before it is cut")
	fs.DurationVar(&f.sample, "sample", 250*time.Millisecond, "interval between readings of the broker's RSS (needs --pid or --restart)")
	fs.BoolVar(&f.keep, "keep", false, "leave the queue and its messages at the end")
}

// rateValue is a rate flag in messages per second: "2000" or "2000/s".
type rateValue float64

func (r *rateValue) String() string { return strconv.FormatFloat(float64(*r), 'g', -1, 64) + "/s" }
func (r *rateValue) Type() string   { return "rate" }

func (r *rateValue) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || v < 0 {
		return fmt.Errorf("want messages per second, such as 2000/s")
	}
	*r = rateValue(v)
	return nil
}

var floodMetrics = []metricDef{
	{"lost", "msgs", "lower", "confirmed messages missing at the end: confirmed − consumed − queue_len, when positive"},
	{"false_closes", "conns", "lower", "connections the broker closed during the run (publisher, consumer, idle watcher)"},
	{"max_gap", "T", "lower", "largest gap between heartbeat frames on the idle watcher, from its handshake to a frame after the end (or 2 T without one)"},
	{"peak_rss", "MiB", "lower", "broker VmRSS, highest reading (one every --sample)"},
	{"final_rss", "MiB", "lower", "broker VmRSS at the end: clients stopped, queue not yet deleted"},
	{"publish_rate", "msg/s", "", "messages written by the publisher per second over the run"},
	{"confirm_rate", "msg/s", "", "publisher confirms (basic.ack) received per second over the run"},
	{"consume_rate", "msg/s", "", "messages delivered and acked per second over the run"},
	{"published", "msgs", "", "messages the publisher handed to its socket (a last write cut at the end may have sent only some)"},
	{"confirmed", "msgs", "", "messages confirmed with basic.ack, --settle included"},
	{"nacked", "msgs", "", "messages refused with basic.nack"},
	{"unconfirmed", "msgs", "", "published but neither acked nor nacked when --settle ran out: may or may not be in the queue"},
	{"consumed", "msgs", "", "messages delivered to the consumer and acked"},
	{"queue_len", "msgs", "", "queue length at the end (passive queue.declare once every client has closed, read until stable)"},
	{"expected_min", "msgs", "", "confirmed − consumed: the least the queue must hold"},
	{"expected_max", "msgs", "", "published − consumed: the most it may hold"},
	{"p99_gap", "T", "", "99th percentile of the idle watcher's heartbeat gaps"},
	{"heartbeats", "frames", "", "heartbeat frames the idle watcher received"},
	{"blocked_s", "s", "", "time the publisher was blocked by connection.blocked (a resource alarm)"},
	{"broker_cpu", "cores", "", "broker CPU time (utime+stime) per second over the run"},
}

func newFloodBench(f *floodFlags) (*benchmark, error) {
	if f.clientHeartbeat == 0 {
		f.clientHeartbeat = f.heartbeat
	}
	if f.heartbeat < time.Second || f.heartbeat%time.Second != 0 || f.clientHeartbeat%time.Second != 0 {
		return nil, fmt.Errorf("flood: --heartbeat and --client-heartbeat must be whole seconds, --heartbeat at least 1s")
	}
	if f.size < minBody || f.duration <= 0 || f.prefetch < 0 || f.prefetch > 65535 || f.maxUnconfirmed < 0 ||
		f.settle < 0 || f.cutAfter <= 0 || f.sample <= 0 {
		return nil, fmt.Errorf("flood: need --size >= %d, --duration > 0, --prefetch in 0..65535, --sample > 0", minBody)
	}
	mode := "transient"
	if f.persistent {
		mode = "persistent"
	}
	return &benchmark{
		Name:  "flood",
		Title: fmt.Sprintf("flood %s %s %v, consumer %v/s", sizeName(f.size), mode, f.duration, fmtNum(float64(f.consumeRate))),
		Params: map[string]string{
			"size": fmt.Sprint(f.size), "duration": f.duration.String(), "heartbeat": f.heartbeat.String(),
			"client_heartbeat": f.clientHeartbeat.String(), "consume_rate": fmt.Sprint(float64(f.consumeRate)),
			"prefetch": fmt.Sprint(f.prefetch), "persistent": fmt.Sprint(f.persistent),
			"max_unconfirmed": fmt.Sprint(f.maxUnconfirmed), "settle": f.settle.String(), "sample": f.sample.String(),
		},
		Metrics: floodMetrics,
		Run:     func(ctx context.Context, t *target, _ int) (runValues, error) { return runFlood(ctx, f, t) },
	}, nil
}

// sizeName prints a body size as "1 KiB" or "16 B".
func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// closeLog collects the connections the broker closed during a run.
type closeLog []string

func (c *closeLog) note(who string, err error) {
	if err != nil {
		*c = append(*c, fmt.Sprintf("%s: %v", who, err))
	}
}

func runFlood(ctx context.Context, f *floodFlags, t *target) (runValues, error) {
	q := benchQueue("flood")
	rss := startRSSSampler(t.PID, f.sample)
	defer rss.close()
	if t.PID == 0 {
		progressf(ctx, "no --pid for %s: RSS is not measured", t.Label)
	}
	watcher, err := startWatcher(ctx, t.EP, uint16(f.heartbeat/time.Second))
	if err != nil {
		return nil, err
	}
	defer func() {
		if watcher != nil {
			watcher.stop()
		}
	}()
	chb := uint16(f.clientHeartbeat / time.Second)
	cons, err := dialConsumer(ctx, t.EP, chb, q, consumerOptions{Acks: true, Durable: f.persistent,
		Prefetch: uint16(f.prefetch), Rate: float64(f.consumeRate)})
	if err != nil {
		return nil, err
	}
	pub, err := dialPublisher(ctx, t.EP, chb, true)
	if err != nil {
		cons.close()
		_ = deleteQueue(ctx, t.EP, q)
		return nil, err
	}
	pub.persistent = f.persistent
	pub.blocks = &blockTracker{}
	var st flowStats
	st.recordFrom.Store(1 << 62) // no latency is recorded
	st.recordTo.Store(1 << 62)
	stop := make(chan struct{})
	backlog, confirmWin := newGate(0), newGate(int64(f.maxUnconfirmed))
	pubDone, consDone := make(chan error, 1), make(chan error, 1)
	go func() { consDone <- cons.consume(backlog, &st) }()
	go func() {
		pubDone <- pub.publish(stop, q, f.size, autoBatch(f.size, 0, f.maxUnconfirmed), backlog, confirmWin, &st)
	}()
	var cpu0 procSample
	if t.PID != 0 {
		cpu0, _ = readProc(t.PID)
	}

	start := time.Now()
	end := start.Add(f.duration)
	for time.Until(end) > 0 {
		if sleepCtx(ctx, min(5*time.Second, time.Until(end))) != nil {
			break
		}
		el := time.Since(start).Seconds()
		bs := pub.blocks.state()
		blocked := ""
		if bs.Blocked {
			blocked = fmt.Sprintf(", BLOCKED (%s) for %.0fs", bs.Reason, bs.For.Seconds())
		}
		progressf(ctx, "%.0fs: published %.0f/s, confirmed %.0f/s, consumed %.0f/s, queue ≈ %d, RSS %.0f MiB (peak %.0f), heartbeat gap max %.2fT%s",
			el, float64(st.published.Load())/el, float64(st.confirmed.Load()-st.nacked.Load())/el, float64(st.consumed.Load())/el,
			st.published.Load()-st.consumed.Load(), rss.current(), rss.runPeak(), watcher.maxGap(f.heartbeat, time.Now()), blocked)
	}
	el := time.Since(start).Seconds()
	v := runValues{
		"publish_rate": float64(st.published.Load()) / el,
		"confirm_rate": float64(st.confirmed.Load()-st.nacked.Load()) / el,
		"consume_rate": float64(st.consumed.Load()) / el,
	}
	if t.PID != 0 {
		if cpu1, err := readProc(t.PID); err == nil && cpu0.RSSBytes != 0 {
			v["broker_cpu"] = float64(cpu1.CPU-cpu0.CPU) / float64(time.Second) / cpu1.At.Sub(cpu0.At).Seconds()
		}
	}

	// Stop: the publisher first (its write may be held by the broker's flow
	// control or an alarm: cut it after --cut-after), then the consumer, whose unacked
	// deliveries go back to the queue once its close is acknowledged.
	var closes closeLog
	close(stop)
	var perr error
	select {
	case perr = <-pubDone:
	case <-time.After(f.cutAfter):
		progressf(ctx, "the publisher's write is held by the broker: cutting it")
		pub.abortWrite()
		perr = <-pubDone
	}
	closes.note("publisher", perr)
	cons.stopReading()
	closes.note("consumer", <-consDone)
	if err := cons.closeWait(10 * time.Second); err != nil {
		progressf(ctx, "closing the consumer: %v", err)
	}
	settleConfirms(ctx, pub, &st, f.settle)
	select {
	case <-pub.readDone:
		if perr == nil {
			closes.note("publisher", pub.lastErr)
		}
	default:
	}
	pub.shutdown()
	// The last gap is closed by the next heartbeat frame, or stays open (at
	// least 2 T) if none comes.
	watcher.waitHeartbeat(time.Now(), 2*f.heartbeat)
	if err := watcher.closedEarly(); err != nil {
		closes.note("idle watcher", err)
	}
	v["max_gap"] = watcher.maxGap(f.heartbeat, time.Now())
	g := summarize(watcher.gaps(f.heartbeat))
	v["p99_gap"], v["heartbeats"] = g.P99, float64(g.N)
	watcher.stop()
	watcher = nil
	for _, c := range closes {
		progressf(ctx, "closed by the broker: %s", c)
	}
	v["false_closes"] = float64(len(closes))
	v["blocked_s"] = pub.blocks.state().Total.Seconds()

	length, lerr := settledLength(ctx, t.EP, q, 500*time.Millisecond, 30*time.Second)
	v["final_rss"], v["peak_rss"] = rss.current(), rss.runPeak()
	if !f.keep {
		if err := deleteQueue(context.Background(), t.EP, q); err != nil {
			progressf(ctx, "deleting queue %s: %v", q, err)
		}
	}
	if lerr != nil {
		return nil, fmt.Errorf("reading the queue's length: %w", lerr)
	}
	chk := queueCheck{Attempted: st.attempted.Load(), Confirmed: st.confirmed.Load() - st.nacked.Load(),
		Consumed: st.consumed.Load(), Length: length}
	lo, hi := chk.bounds()
	v["published"], v["confirmed"], v["nacked"] = float64(chk.Attempted), float64(chk.Confirmed), float64(st.nacked.Load())
	v["unconfirmed"] = float64(chk.Attempted - st.confirmed.Load())
	v["consumed"], v["queue_len"] = float64(chk.Consumed), float64(length)
	v["expected_min"], v["expected_max"], v["lost"] = float64(lo), float64(hi), float64(chk.lost())
	verdict := "every confirmed message is there"
	if n := chk.lost(); n > 0 {
		verdict = fmt.Sprintf("LOST %d confirmed messages", n)
	} else if n := chk.surplus(); n > 0 {
		verdict = fmt.Sprintf("%d more messages than were sent", n)
	}
	progressf(ctx, "queue length %d, expected %d..%d (confirmed %d − consumed %d, up to %d unconfirmed): %s",
		length, lo, hi, chk.Confirmed, chk.Consumed, hi-lo, verdict)
	return v, ctx.Err()
}

// settleConfirms waits, at most timeout, until every message the publisher
// wrote whole is acked or nacked, or its connection ends.
func settleConfirms(ctx context.Context, pub *publisher, st *flowStats, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for st.confirmed.Load() < st.published.Load() && time.Now().Before(deadline) {
		select {
		case <-pub.readDone:
			return
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	if n := st.published.Load() - st.confirmed.Load(); n > 0 {
		progressf(ctx, "%d messages still unconfirmed after %v", n, timeout)
	}
}
