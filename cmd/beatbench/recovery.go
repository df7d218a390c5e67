package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// recoveryFlags configure the recovery benchmark.
type recoveryFlags struct {
	queues   int
	messages int
	size     int
	window   int
	timeout  time.Duration
	settle   time.Duration
	stops    []string
	starts   []string
	keep     bool
}

func (f *recoveryFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.queues, "queues", 1, "durable queues to fill")
	fs.IntVar(&f.messages, "messages", 1000000, "persistent messages per queue (0: measure an empty broker's start)")
	fs.IntVarP(&f.size, "size", "s", 16, fmt.Sprintf("message body size in octets (at least %d)", minBody))
	fs.IntVar(&f.window, "window", 10000, "messages published but not yet confirmed while filling, at most")
	fs.DurationVar(&f.timeout, "timeout", 15*time.Minute, "limit for each phase (filling, stopping, starting until ready)")
	fs.DurationVar(&f.settle, "settle", 2*time.Second, "pause after the broker is ready before its RSS is read")
	fs.StringArrayVar(&f.stops, "stop", nil, "label=CMD: shell command that stops the target's broker, keeping its data (repeatable)")
	fs.StringArrayVar(&f.starts, "start", nil, "label=CMD: shell command that starts the target's broker on the data it kept; its last stdout line is the pid (repeatable)")
	fs.BoolVar(&f.keep, "keep", false, "leave the queues and their messages at the end (to restart or profile the broker by hand)")
}

var recoveryMetrics = []metricDef{
	{"recovery_s", "s", "lower", "from running the start command to the broker answering the protocol header with connection.start"},
	{"ready_s", "s", "lower", "from running the start command to every queue answering a passive queue.declare with its message count and a first message fetched with basic.get"},
	{"recovered_msgs", "msgs", "higher", "messages the queues reported after the restart (sum of passive queue.declare counts)"},
	{"rss_recovered", "MiB", "lower", "broker VmRSS after the restart, once ready and the --settle pause is over"},
	{"rss_before_stop", "MiB", "", "broker VmRSS after filling, before the stop"},
	{"fill_rate", "msg/s", "higher", "persistent messages published and confirmed per second while filling"},
	{"stop_s", "s", "", "how long the stop command took (a graceful stop)"},
}

func newRecoveryBench(f *recoveryFlags) (*benchmark, error) {
	if f.queues < 1 || f.messages < 0 || f.size < minBody || f.window < 1 || f.timeout <= 0 {
		return nil, fmt.Errorf("recovery: need --queues >= 1, --messages >= 0, --size >= %d, --window >= 1, --timeout > 0", minBody)
	}
	stops, err := labelled(f.stops, "stop")
	if err != nil {
		return nil, err
	}
	starts, err := labelled(f.starts, "start")
	if err != nil {
		return nil, err
	}
	return &benchmark{
		Name:  "recovery",
		Title: fmt.Sprintf("recovery %s queue(s) × %s persistent %d B", fmtNum(float64(f.queues)), fmtNum(float64(f.messages)), f.size),
		Params: map[string]string{
			"queues": fmt.Sprint(f.queues), "messages": fmt.Sprint(f.messages), "size": fmt.Sprint(f.size),
			"window": fmt.Sprint(f.window), "settle": f.settle.String(),
		},
		Metrics: recoveryMetrics,
		Run: func(ctx context.Context, t *target, run int) (runValues, error) {
			if stops[t.Label] == "" || starts[t.Label] == "" {
				return nil, fmt.Errorf("recovery needs --stop %s=CMD and --start %s=CMD", t.Label, t.Label)
			}
			return runRecovery(ctx, f, t, stops[t.Label], starts[t.Label])
		},
	}, nil
}

// labelled parses label=CMD flags.
func labelled(vals []string, flag string) (map[string]string, error) {
	m := map[string]string{}
	for _, s := range vals {
		l, v, ok := strings.Cut(s, "=")
		if !ok || l == "" {
			return nil, fmt.Errorf("--%s %q: want label=CMD", flag, s)
		}
		m[l] = v
	}
	return m, nil
}

func runRecovery(ctx context.Context, f *recoveryFlags, t *target, stopCmd, startCmd string) (runValues, error) {
	base := benchQueue("rec")
	queues := make([]string, f.queues)
	for i := range queues {
		queues[i] = fmt.Sprintf("%s-%05d", base, i)
	}
	v := runValues{}
	fctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := declareQueues(fctx, t.EP, queues, declareDurable); err != nil {
		return nil, err
	}
	total := int64(f.queues) * int64(f.messages)
	progressf(ctx, "filling %d queue(s) with %d persistent %d B messages each", f.queues, f.messages, f.size)
	took, err := fillQueues(fctx, t.EP, queues, f.messages, f.size, f.window)
	if err != nil {
		return nil, fmt.Errorf("filling: %w", err)
	}
	if total > 0 {
		v["fill_rate"] = float64(total) / took.Seconds()
	}
	progressf(ctx, "filled in %.1fs (%.0f msg/s)", took.Seconds(), v["fill_rate"])
	if t.PID != 0 {
		if s, err := readProc(t.PID); err == nil {
			v["rss_before_stop"] = float64(s.RSSBytes) / (1 << 20)
		}
	}
	stopAt := time.Now()
	if _, err := runShell(ctx, stopCmd, f.timeout); err != nil {
		return nil, fmt.Errorf("stop: %w", err)
	}
	v["stop_s"] = time.Since(stopAt).Seconds()
	t.PID = 0
	progressf(ctx, "stopped in %.1fs; starting", v["stop_s"])

	// The start command runs beside the probe: it may return before the
	// broker serves, or only once it does.
	t0 := time.Now()
	startDone := make(chan startResult, 1)
	go func() {
		out, err := runShell(ctx, startCmd, f.timeout)
		startDone <- startResult{out, err}
	}()
	sctx, scancel := context.WithTimeout(ctx, f.timeout)
	defer scancel()
	res, err := waitServing(sctx, t.EP.Addr, startDone)
	if err != nil {
		if res == nil {
			<-startDone // the command's context ends with ctx's timeout
		}
		return nil, fmt.Errorf("start: %w", err)
	}
	v["recovery_s"] = time.Since(t0).Seconds()
	progressf(ctx, "serving after %.2fs", v["recovery_s"])
	n, err := countAndGet(sctx, t.EP, queues, f.messages > 0)
	if err != nil {
		return nil, fmt.Errorf("after the restart: %w", err)
	}
	v["ready_s"] = time.Since(t0).Seconds()
	v["recovered_msgs"] = float64(n)
	if n != total {
		progressf(ctx, "recovered %d messages, %d were confirmed", n, total)
	}
	if res == nil {
		r := <-startDone // bounded by the command's own timeout
		res = &r
	}
	if res.err != nil {
		return nil, fmt.Errorf("start: %w", res.err)
	}
	if pid, err := lastPid(res.out); err == nil {
		t.PID = pid
		if err := sleepCtx(ctx, f.settle); err != nil {
			return nil, err
		}
		if s, err := readProc(pid); err == nil {
			v["rss_recovered"] = float64(s.RSSBytes) / (1 << 20)
		}
	} else {
		progressf(ctx, "start command: %v; RSS not measured", err)
	}
	progressf(ctx, "ready after %.2fs, %d messages, RSS %.1f MiB", v["ready_s"], n, v["rss_recovered"])
	if f.keep {
		return v, nil
	}
	dctx, dcancel := context.WithTimeout(ctx, f.timeout)
	defer dcancel()
	if err := deleteQueues(dctx, t.EP, queues); err != nil {
		progressf(ctx, "deleting the queues: %v", err)
	}
	return v, nil
}

// runShell runs cmd with sh -c and returns its standard output; standard
// error goes to beatbench's.
func runShell(ctx context.Context, cmd string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	var out bytes.Buffer
	c.Stdout = &out
	c.Stderr = os.Stderr
	err := c.Run()
	return out.String(), err
}

// lastPid returns the last word of a command's output as a pid.
func lastPid(out string) (int, error) {
	w := strings.Fields(out)
	if len(w) == 0 {
		return 0, fmt.Errorf("printed no pid")
	}
	pid, err := strconv.Atoi(w[len(w)-1])
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("last output %q is not a pid", w[len(w)-1])
	}
	return pid, nil
}

// startResult is how a start command ended.
type startResult struct {
	out string
	err error
}

// waitServing polls addr every 10 ms until a connection answers the protocol
// header with a frame. It returns the start command's result when that came
// first (a command may return before the broker serves, or only once it
// does); a failed command ends the wait.
func waitServing(ctx context.Context, addr string, startDone <-chan startResult) (*startResult, error) {
	var res *startResult
	for !answered(ctx, addr) {
		var cmdDone <-chan startResult
		if res == nil {
			cmdDone = startDone
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%s not serving: %w", addr, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		case r := <-cmdDone:
			if r.err != nil {
				return &r, r.err
			}
			res = &r
		}
	}
	return res, nil
}

// answered reports whether a connection to addr answers the protocol header
// with the start of a frame (connection.start) within 30 s.
func answered(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(protocolHeader); err != nil {
		return false
	}
	var hdr [7]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return false
	}
	return hdr[0] == frameMethod
}

// declareQueues declares every queue with the given bits.
func declareQueues(ctx context.Context, ep endpoint, queues []string, bits byte) error {
	c, err := dialClient(ctx, ep, 0)
	if err != nil {
		return err
	}
	defer c.close()
	for _, q := range queues {
		if err := c.call(appendQueueDeclare(nil, 1, q, bits), idQueueDeclareOk, "queue.declare-ok"); err != nil {
			return fmt.Errorf("declaring %s: %w", q, err)
		}
	}
	return nil
}

// deleteQueues deletes every queue.
func deleteQueues(ctx context.Context, ep endpoint, queues []string) error {
	c, err := dialClient(ctx, ep, 0)
	if err != nil {
		return err
	}
	defer c.close()
	for _, q := range queues {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.call(appendQueueDelete(nil, 1, q), idQueueDeleteOk, "queue.delete-ok"); err != nil {
			return fmt.Errorf("deleting %s: %w", q, err)
		}
	}
	return nil
}

// countAndGet sums the queues' message counts (passive declares) and, when
// get, fetches one message of the first queue (no-ack) to see it is there.
func countAndGet(ctx context.Context, ep endpoint, queues []string, get bool) (int64, error) {
	c, err := dialClient(ctx, ep, 0)
	if err != nil {
		return 0, err
	}
	defer c.close()
	var total int64
	for _, q := range queues {
		if err := writeAll(c.w, appendQueueDeclare(nil, 1, q, declarePassive)); err != nil {
			return 0, err
		}
		_ = c.h.Conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
		r, err := c.fr.expect(idQueueDeclareOk, "queue.declare-ok")
		if err != nil {
			return 0, fmt.Errorf("%s: %w", q, err)
		}
		n, err := parseDeclareOk(r)
		if err != nil {
			return 0, err
		}
		total += int64(n)
	}
	if get {
		if err := writeAll(c.w, appendBasicGet(nil, 1, queues[0], true)); err != nil {
			return 0, err
		}
		id, _, err := c.fr.readMethod()
		if err != nil {
			return 0, fmt.Errorf("basic.get: %w", err)
		}
		if id != idBasicGetOk {
			return 0, fmt.Errorf("basic.get on %s: got method %d.%d, not get-ok", queues[0], id>>16, id&0xffff)
		}
	}
	return total, nil
}

// fillQueues publishes perQueue persistent messages of size octets to every
// queue, round robin, with confirms, at most window unconfirmed; it returns
// once every message is confirmed.
func fillQueues(ctx context.Context, ep endpoint, queues []string, perQueue, size, window int) (time.Duration, error) {
	total := int64(len(queues)) * int64(perQueue)
	if total == 0 {
		return 0, nil
	}
	pub, err := dialPublisher(ctx, ep, 0, true)
	if err != nil {
		return 0, err
	}
	pub.persistent = true
	defer pub.shutdown()
	var st flowStats
	win := newGate(int64(window))
	pub.started = true
	go pub.readLoop(&st, win)
	tmpls := make([][]byte, len(queues))
	offs := make([]int, len(queues))
	for i, q := range queues {
		tmpls[i], offs[i] = publishTemplate(q, size, pub.h.Tune.FrameMax, 2)
	}
	batch := int64(autoBatch(size, 0, window))
	start, lastLog := time.Now(), time.Now()
	var sent int64
	var buf []byte
	qi := 0
	for sent < total {
		select {
		case <-pub.readDone:
			return 0, fmt.Errorf("publisher: %w", pub.lastErr)
		default:
		}
		k := win.acquire(min(batch, total-sent), ctx.Done())
		if k == 0 {
			return 0, ctx.Err()
		}
		buf = buf[:0]
		ts := uint64(nowNanos())
		for range k {
			at := len(buf) + offs[qi]
			buf = append(buf, tmpls[qi]...)
			binary.BigEndian.PutUint64(buf[at:], ts)
			binary.BigEndian.PutUint64(buf[at+8:], uint64(sent))
			sent++
			qi = (qi + 1) % len(queues)
		}
		if err := writeAll(pub.w, buf); err != nil {
			return 0, fmt.Errorf("publisher: %w", err)
		}
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			progressf(ctx, "%d of %d published, %d confirmed", sent, total, st.confirmed.Load())
		}
	}
	for st.confirmed.Load() < total {
		select {
		case <-pub.readDone:
			return 0, fmt.Errorf("publisher: %d of %d confirmed, then: %v", st.confirmed.Load(), total, pub.lastErr)
		case <-ctx.Done():
			return 0, fmt.Errorf("%d of %d confirmed: %w", st.confirmed.Load(), total, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	took := time.Since(start)
	if n := st.nacked.Load(); n > 0 {
		return 0, fmt.Errorf("%d messages were nacked", n)
	}
	return took, nil
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}
