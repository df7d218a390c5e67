package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/spf13/pflag"
)

// detectFlags configure the detect benchmark.
type detectFlags struct {
	conns       int
	heartbeat   time.Duration
	within      float64
	tolerance   time.Duration
	phase       bool
	concurrency int
	perAddr     int
	timeout     time.Duration
}

func (f *detectFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.conns, "connections", "n", 100, "connections that go silent")
	fs.DurationVar(&f.heartbeat, "heartbeat", 2*time.Second, "heartbeat T asked for in tune-ok (whole seconds)")
	fs.Float64Var(&f.within, "within", 4, "a connection not closed within this many T after its last octet counts as never closed")
	fs.DurationVar(&f.tolerance, "tolerance", 10*time.Millisecond, "timing slack of the [2T, 3T] check: the client's clock sees each send and close a little late")
	fs.BoolVar(&f.phase, "random-phase", true, "each connection sends one heartbeat at a uniformly random point of the first T after its handshake, so its last octet falls at a random phase of the broker's timer (false: the last octet is connection.open, right after tune-ok)")
	fs.IntVar(&f.concurrency, "concurrency", 64, "handshakes in flight while connecting")
	fs.IntVar(&f.perAddr, "per-addr", 20000, "connections per client source address (127.0.0.1, then 127.0.0.2, ...)")
	fs.DurationVar(&f.timeout, "handshake-timeout", 30*time.Second, "limit for one connection's TCP connect and handshake")
}

var detectMetrics = []metricDef{
	{"min", "T", "", "earliest close after the connection's last octet, in units of T"},
	{"median", "T", "", "median time from last octet to the broker's close"},
	{"p99", "T", "", "99th percentile time from last octet to close"},
	{"max", "T", "", "latest close (among those within the limit)"},
	{"outside_2T_3T", "conns", "lower", "connections closed before 2T or after 3T, give or take --tolerance (including never)"},
	{"never_closed", "conns", "lower", "connections not closed within the limit (--within T)"},
	{"connected", "conns", "higher", "connections that completed the handshake"},
}

func newDetectBench(f *detectFlags) (*benchmark, error) {
	if f.conns < 1 || f.heartbeat < time.Second || f.heartbeat%time.Second != 0 || f.within < 3 {
		return nil, fmt.Errorf("detect: need --connections >= 1, --heartbeat in whole seconds, --within >= 3")
	}
	return &benchmark{
		Name:  "detect",
		Title: fmt.Sprintf("detect N=%d T=%v", f.conns, f.heartbeat),
		Params: map[string]string{"connections": fmt.Sprint(f.conns), "heartbeat": f.heartbeat.String(), "within": fmt.Sprint(f.within),
			"tolerance": f.tolerance.String(), "random_phase": fmt.Sprint(f.phase)},
		Metrics: detectMetrics,
		Run:     func(ctx context.Context, t *target, _ int) (runValues, error) { return runDetect(ctx, f, t) },
	}, nil
}

func runDetect(ctx context.Context, f *detectFlags, t *target) (runValues, error) {
	p := newPool(t.EP, f.conns)
	defer p.closeAll()
	var timers sync.WaitGroup
	o := connectOptions{
		N: f.conns, Heartbeat: uint16(f.heartbeat / time.Second), Concurrency: f.concurrency,
		PerAddr: f.perAddr, Timeout: f.timeout,
	}
	if f.phase {
		o.AfterOpen = func(i int, _ *net.TCPConn) {
			timers.Add(1)
			time.AfterFunc(rand.N(f.heartbeat), func() {
				defer timers.Done()
				p.writeAt(i, heartbeatFrame)
			})
		}
	}
	st := p.connect(ctx, o)
	timers.Wait()
	progressf(ctx, "%d/%d connected in %.1fs, all silent from their connection.open on", st.Opened, f.conns, st.Duration.Seconds())
	for _, e := range st.Errors {
		progressf(ctx, "connect error: %s", e)
	}
	if st.Opened == 0 {
		return nil, fmt.Errorf("no connection opened: %v", st.Errors)
	}
	limit := time.Duration(f.within * float64(f.heartbeat))
	var last int64
	for i := range p.conns {
		if p.conns[i].Load() != nil {
			last = max(last, p.lastSent[i].Load())
		}
	}
	deadline := time.Unix(0, last).Add(limit + 100*time.Millisecond)
	for time.Now().Before(deadline) && p.open() > 0 {
		if err := sleepCtx(ctx, min(100*time.Millisecond, time.Until(deadline))); err != nil {
			return nil, err
		}
	}
	d, never, kinds := detectSummary(p, f.heartbeat, limit)
	progressf(ctx, "closed by EOF %d, by RST %d, other %d, not closed %d", kinds[closedEOF], kinds[closedRST], kinds[closedErr], never)
	outside := never + countOutside(d, 2, 3, f.tolerance.Seconds()/f.heartbeat.Seconds())
	s := summarize(d)
	return runValues{
		"min": s.Min, "median": s.Median, "p99": s.P99, "max": s.Max,
		"outside_2T_3T": float64(outside), "never_closed": float64(never), "connected": float64(st.Opened),
	}, nil
}

// detectSummary returns, for the connections closed within limit, the time from
// last octet to close in units of T, and the number not closed within limit.
func detectSummary(p *pool, T, limit time.Duration) (inT []float64, never int, kinds map[closeKind]int) {
	kinds = map[closeKind]int{}
	for i := range p.conns {
		if p.conns[i].Load() == nil {
			continue
		}
		at := p.closedAt[i].Load()
		if at == 0 {
			never++
			continue
		}
		d := time.Duration(at - p.lastSent[i].Load())
		if d > limit {
			never++
			continue
		}
		kinds[closeKind(p.kind[i].Load())]++
		inT = append(inT, d.Seconds()/T.Seconds())
	}
	return inT, never, kinds
}

// countOutside counts the values outside [lo - tol, hi + tol].
func countOutside(xs []float64, lo, hi, tol float64) int {
	n := 0
	for _, x := range xs {
		if x < lo-tol || x > hi+tol {
			n++
		}
	}
	return n
}
