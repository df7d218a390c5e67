package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
)

// idleFlags configure the idle benchmark.
type idleFlags struct {
	conns       int
	heartbeat   time.Duration
	duration    time.Duration
	settle      time.Duration
	quiet       time.Duration
	concurrency int
	perAddr     int
	timeout     time.Duration
}

func (f *idleFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.conns, "connections", "n", 1000, "connections to open and hold")
	fs.DurationVar(&f.heartbeat, "heartbeat", time.Second, "heartbeat T asked for in tune-ok (whole seconds); clients send a heartbeat every T/2")
	fs.DurationVarP(&f.duration, "duration", "d", 30*time.Second, "how long to hold the connections (the CPU window)")
	fs.DurationVar(&f.settle, "settle", 2*time.Second, "pause between the last connection opening and the CPU window")
	fs.DurationVar(&f.quiet, "quiet", 5*time.Second, "window before connecting over which the broker's own idle CPU is measured")
	fs.IntVar(&f.concurrency, "concurrency", 64, "handshakes in flight while connecting")
	fs.IntVar(&f.perAddr, "per-addr", 20000, "connections per client source address (127.0.0.1, then 127.0.0.2, ...)")
	fs.DurationVar(&f.timeout, "handshake-timeout", 30*time.Second, "limit for one connection's TCP connect and handshake")
}

var idleMetrics = []metricDef{
	{"rss_per_conn", "KiB", "lower", "broker RSS growth per connection (VmRSS after holding minus before connecting, fresh broker)"},
	{"cpu_per_conn", "µs/s", "lower", "broker CPU (utime+stime) per connection per second over the hold window"},
	{"open_at_end", "conns", "higher", "connections still open at the end of the hold"},
	{"connected", "conns", "higher", "connections that completed the handshake"},
	{"connect_rate", "conn/s", "higher", "handshakes completed per second while connecting"},
	{"broker_rss", "MiB", "lower", "broker VmRSS at the end of the hold"},
	{"broker_idle_cpu", "ms/s", "lower", "broker CPU per second before any connection was opened"},
	{"hb_per_conn", "frames/s", "", "heartbeat frames received from the broker per connection per second (expect 2/T)"},
	{"client_cpu", "ms/s", "", "beatbench's own CPU per second over the hold window (it shares the machine)"},
}

func newIdleBench(f *idleFlags) (*benchmark, error) {
	if f.conns < 1 || f.heartbeat < time.Second || f.heartbeat%time.Second != 0 || f.duration <= 0 {
		return nil, fmt.Errorf("idle: need --connections >= 1, --heartbeat in whole seconds >= 1s, --duration > 0")
	}
	return &benchmark{
		Name:  "idle",
		Title: fmt.Sprintf("idle N=%d T=%v D=%v", f.conns, f.heartbeat, f.duration),
		Params: map[string]string{
			"connections": fmt.Sprint(f.conns), "heartbeat": f.heartbeat.String(), "duration": f.duration.String(),
			"settle": f.settle.String(), "quiet": f.quiet.String(),
		},
		Metrics: idleMetrics,
		Run:     func(ctx context.Context, t *target, _ int) (runValues, error) { return runIdle(ctx, f, t) },
	}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func runIdle(ctx context.Context, f *idleFlags, t *target) (runValues, error) {
	v := runValues{}
	var before procSample
	if t.PID != 0 {
		q0, err := readProc(t.PID)
		if err != nil {
			return nil, err
		}
		if err := sleepCtx(ctx, f.quiet); err != nil {
			return nil, err
		}
		before, err = readProc(t.PID)
		if err != nil {
			return nil, err
		}
		v["broker_idle_cpu"] = float64(before.CPU-q0.CPU) / float64(time.Millisecond) / before.At.Sub(q0.At).Seconds()
		progressf(ctx, "broker pid %d: RSS %.1f MiB, idle CPU %.2f ms/s", t.PID, float64(before.RSSBytes)/(1<<20), v["broker_idle_cpu"])
	} else {
		progressf(ctx, "no --pid for %s: memory and CPU are not measured", t.Label)
	}
	p := newPool(t.EP, f.conns)
	defer p.closeAll()
	// Heartbeats flow from the first connection on: connecting many takes
	// longer than the broker waits for a silent one.
	stop := make(chan struct{})
	senderDone := make(chan struct{})
	// The sender also drains each connection once per T: heartbeats from the
	// broker wait in the socket buffer meanwhile, and no goroutine wakes for them.
	go func() { defer close(senderDone); p.heartbeatSender(f.heartbeat/2, stop, 2) }()
	defer func() { close(stop); <-senderDone }()
	st := p.connect(ctx, connectOptions{
		N: f.conns, Heartbeat: uint16(f.heartbeat / time.Second), Concurrency: f.concurrency,
		PerAddr: f.perAddr, Timeout: f.timeout, NoWatch: true,
	})
	progressf(ctx, "%d/%d connected in %.1fs (%.0f/s)", st.Opened, f.conns, st.Duration.Seconds(), float64(st.Opened)/st.Duration.Seconds())
	for _, e := range st.Errors {
		progressf(ctx, "connect error: %s", e)
	}
	if st.Aborted != "" {
		progressf(ctx, "%s", st.Aborted)
	}
	if st.Opened == 0 {
		return nil, fmt.Errorf("no connection opened: %v", st.Errors)
	}
	v["connected"] = float64(st.Opened)
	v["connect_rate"] = float64(st.Opened) / st.Duration.Seconds()
	if err := sleepCtx(ctx, f.settle); err != nil {
		return nil, err
	}
	var a procSample
	var err error
	if t.PID != 0 {
		if a, err = readProc(t.PID); err != nil {
			return nil, err
		}
	}
	p.drainAll()
	self0, _ := readProc(os.Getpid())
	rx0, t0 := p.rxBytes.Load(), time.Now()
	progressf(ctx, "holding %d connections for %v", st.Opened, f.duration)
	end := time.Now().Add(f.duration)
	for time.Until(end) > 0 {
		if err := sleepCtx(ctx, min(10*time.Second, time.Until(end))); err != nil {
			return nil, err
		}
		if time.Until(end) > time.Second {
			progressf(ctx, "%d open, %.0fs left", p.open(), time.Until(end).Seconds())
		}
	}
	p.drainAll()
	rx1, window := p.rxBytes.Load(), time.Since(t0)
	if self1, err := readProc(os.Getpid()); err == nil && self0.RSSBytes != 0 {
		v["client_cpu"] = float64(self1.CPU-self0.CPU) / float64(time.Millisecond) / self1.At.Sub(self0.At).Seconds()
	}
	open := p.open()
	v["open_at_end"] = float64(open)
	v["hb_per_conn"] = float64(rx1-rx0) / 8 / float64(st.Opened) / window.Seconds()
	if t.PID != 0 {
		b, err := readProc(t.PID)
		if err != nil {
			return nil, err
		}
		v["rss_per_conn"] = (float64(b.RSSBytes) - float64(before.RSSBytes)) / 1024 / float64(st.Opened)
		v["cpu_per_conn"] = float64(b.CPU-a.CPU) / float64(time.Microsecond) / float64(st.Opened) / b.At.Sub(a.At).Seconds()
		v["broker_rss"] = float64(b.RSSBytes) / (1 << 20)
	}
	return v, nil
}
