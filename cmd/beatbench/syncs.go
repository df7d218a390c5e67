package main

// What a broker process writes to disk over a measurement window: bytes
// (/proc/PID/io) and fdatasync/fsync calls (perf or strace).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// windowCounts is what the load side did over a window, for per-message
// figures.
type windowCounts struct {
	published int64
	seconds   float64
}

// windowProbe measures something about the broker over a throughput window:
// begin is called when the window opens, end when it closes.
type windowProbe interface {
	begin(ctx context.Context) error
	end(w windowCounts) (runValues, error)
	// abort releases what begin took when the window is not completed.
	abort()
}

// ioCounters are the fields of /proc/PID/io the probes use.
type ioCounters struct {
	WriteBytes uint64 // bytes the process caused to be sent to storage (counted when pages are dirtied)
	Syscw      uint64 // write-type system calls, sockets included
}

// parseProcIO reads a /proc/PID/io file.
func parseProcIO(b []byte) (ioCounters, error) {
	var c ioCounters
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "write_bytes":
			c.WriteBytes = n
			found++
		case "syscw":
			c.Syscw = n
			found++
		}
	}
	if found < 2 {
		return c, errors.New("no write_bytes/syscw in /proc/PID/io")
	}
	return c, nil
}

func readProcIO(pid int) (ioCounters, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return ioCounters{}, err
	}
	c, err := parseProcIO(b)
	if err != nil {
		return c, fmt.Errorf("pid %d: %w", pid, err)
	}
	return c, nil
}

// ioProbe reports the broker's disk writes and CPU over the window.
type ioProbe struct {
	pid  int
	io0  ioCounters
	cpu0 procSample
}

func (p *ioProbe) begin(context.Context) error {
	var err error
	if p.io0, err = readProcIO(p.pid); err != nil {
		return err
	}
	p.cpu0, err = readProc(p.pid)
	return err
}

func (p *ioProbe) end(w windowCounts) (runValues, error) {
	io1, err := readProcIO(p.pid)
	if err != nil {
		return nil, err
	}
	cpu1, err := readProc(p.pid)
	if err != nil {
		return nil, err
	}
	secs := cpu1.At.Sub(p.cpu0.At).Seconds()
	bytes := float64(io1.WriteBytes - p.io0.WriteBytes)
	v := runValues{
		"disk_write_rate": bytes / 1e6 / secs,
		"broker_cpu":      float64(cpu1.CPU-p.cpu0.CPU) / float64(time.Millisecond) / secs,
	}
	if w.published > 0 {
		v["disk_bytes_per_msg"] = bytes / float64(w.published)
		v["broker_cpu_per_msg"] = float64(cpu1.CPU-p.cpu0.CPU) / float64(time.Microsecond) / float64(w.published)
	}
	return v, nil
}

func (p *ioProbe) abort() {}

var ioMetrics = []metricDef{
	{"disk_bytes_per_msg", "B/msg", "lower", "bytes the broker caused to be written to storage (/proc/PID/io write_bytes, counted per dirtied page) per message published in the window"},
	{"disk_write_rate", "MB/s", "", "the same bytes per second"},
	{"broker_cpu", "ms/s", "", "the broker's CPU (utime+stime) per second over the window"},
	{"broker_cpu_per_msg", "µs/msg", "lower", "the broker's CPU per message published in the window"},
}

var syncMetrics = []metricDef{
	{"fdatasync_rate", "calls/s", "", "fdatasync calls by the broker per second (every thread)"},
	{"fsync_rate", "calls/s", "", "fsync calls by the broker per second (every thread)"},
	{"msgs_per_sync", "msg/call", "", "messages published per fdatasync or fsync call"},
}

// syncProbe counts the broker's fdatasync and fsync calls over the window,
// with perf (tracepoints, every thread, counted in the same run) or strace
// (ptrace: slows the broker, use it in a separate run).
type syncProbe struct {
	how     string
	pid     int
	counter syncCounter
}

// syncCounter is a running count of one process's sync calls.
type syncCounter interface {
	// stop ends the count and returns the calls and the time counted.
	stop() (fdatasync, fsync int64, counted time.Duration, err error)
	kill()
}

func (p *syncProbe) begin(ctx context.Context) error {
	var err error
	switch p.how {
	case "perf":
		p.counter, err = startPerfCounter(ctx, p.pid)
	case "strace":
		p.counter, err = startStraceCounter(p.pid)
	default:
		err = fmt.Errorf("--count-syncs %q: want perf or strace", p.how)
	}
	return err
}

func (p *syncProbe) end(w windowCounts) (runValues, error) {
	fd, fs, counted, err := p.counter.stop()
	p.counter = nil
	if err != nil {
		return nil, err
	}
	secs := counted.Seconds()
	v := runValues{"fdatasync_rate": float64(fd) / secs, "fsync_rate": float64(fs) / secs}
	if fd+fs > 0 && w.seconds > 0 {
		// The counter's window and the load's differ by the counter's start-up.
		v["msgs_per_sync"] = float64(w.published) / w.seconds / (float64(fd+fs) / secs)
	}
	return v, nil
}

func (p *syncProbe) abort() {
	if p.counter != nil {
		p.counter.kill()
		p.counter = nil
	}
}

// perfCounter records the syscalls:sys_enter_fdatasync and sys_enter_fsync
// tracepoints on every CPU (so threads the broker starts later count too)
// with perf record, enabled and disabled through perf's control FIFOs so
// that exactly the window is counted, then counts the events of one process
// with perf script. Recording two rare tracepoints costs the broker nothing
// measurable.
type perfCounter struct {
	pid   int
	dir   string
	proc  *child
	ctl   *os.File
	ack   *os.File
	began time.Time
}

// child is a helper process (perf, strace) run for the length of a window.
type child struct {
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	waitErr chan error // Wait's result, once
	done    bool
}

func startChild(name string, args ...string) (*child, error) {
	c := &child{cmd: exec.Command(name, args...), waitErr: make(chan error, 1)}
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() { c.waitErr <- c.cmd.Wait() }()
	return c, nil
}

// interrupt sends SIGINT (perf and strace then write their results) and
// waits for the exit.
func (c *child) interrupt() error {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.waitErr:
		c.done = true
		return nil
	case <-time.After(30 * time.Second):
		c.kill()
		return fmt.Errorf("%s did not stop", c.cmd.Path)
	}
}

func (c *child) kill() {
	if !c.done {
		_ = c.cmd.Process.Kill()
		<-c.waitErr
		c.done = true
	}
}

func startPerfCounter(ctx context.Context, pid int) (*perfCounter, error) {
	dir, err := os.MkdirTemp("", "beatbench-perf-")
	if err != nil {
		return nil, err
	}
	p := &perfCounter{pid: pid, dir: dir}
	ctlPath, ackPath := filepath.Join(dir, "ctl"), filepath.Join(dir, "ack")
	for _, f := range []string{ctlPath, ackPath} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// O_RDWR opens of a FIFO do not wait for the other end (Linux).
	if p.ctl, err = os.OpenFile(ctlPath, os.O_RDWR, 0); err == nil {
		p.ack, err = os.OpenFile(ackPath, os.O_RDWR, 0)
	}
	if err != nil {
		p.cleanup()
		return nil, err
	}
	p.proc, err = startChild("perf", "record", "-q", "-a", "-D", "-1",
		"--control=fifo:"+ctlPath+","+ackPath,
		"-e", "syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync",
		"-o", filepath.Join(dir, "perf.data"))
	if err != nil {
		p.cleanup()
		return nil, err
	}
	if err := p.command("enable"); err != nil {
		p.kill()
		return nil, err
	}
	p.began = time.Now()
	return p, nil
}

// command sends a control command and waits for perf's ack.
func (p *perfCounter) command(c string) error {
	if _, err := p.ctl.WriteString(c + "\n"); err != nil {
		return fmt.Errorf("perf %s: %w", c, err)
	}
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		n, err := p.ack.Read(buf)
		if err == nil && !strings.HasPrefix(string(buf[:n]), "ack") {
			err = fmt.Errorf("unexpected answer %q", buf[:n])
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			return fmt.Errorf("perf %s: %w", c, err)
		}
		return nil
	case err := <-p.proc.waitErr:
		p.proc.waitErr <- err
		return fmt.Errorf("perf exited: %v: %s", err, strings.TrimSpace(p.proc.stderr.String()))
	case <-time.After(60 * time.Second):
		return fmt.Errorf("perf %s: no ack within 60s", c)
	}
}

func (p *perfCounter) stop() (int64, int64, time.Duration, error) {
	defer p.cleanup()
	counted := time.Since(p.began)
	if err := p.command("disable"); err != nil {
		p.proc.kill()
		return 0, 0, 0, err
	}
	if err := p.proc.interrupt(); err != nil {
		return 0, 0, 0, err
	}
	out, err := exec.Command("perf", "script", "-i", filepath.Join(p.dir, "perf.data"), "-F", "pid,event").Output()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("perf script: %w", err)
	}
	fd, fs := countPerfEvents(out, p.pid)
	return fd, fs, counted, nil
}

// countPerfEvents counts the lines "PID syscalls:sys_enter_fdatasync:" and
// "... fsync:" of perf script output that belong to pid.
func countPerfEvents(out []byte, pid int) (fdatasync, fsync int64) {
	want := strconv.Itoa(pid)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != want {
			continue
		}
		switch strings.TrimSuffix(f[1], ":") {
		case "syscalls:sys_enter_fdatasync":
			fdatasync++
		case "syscalls:sys_enter_fsync":
			fsync++
		}
	}
	return fdatasync, fsync
}

func (p *perfCounter) kill() {
	if p.proc != nil {
		p.proc.kill()
	}
	p.cleanup()
}

func (p *perfCounter) cleanup() {
	if p.ctl != nil {
		p.ctl.Close()
		p.ctl = nil
	}
	if p.ack != nil {
		p.ack.Close()
		p.ack = nil
	}
	os.RemoveAll(p.dir)
}

// straceCounter attaches strace -f -c to the process. ptrace stops the
// broker at every system call it makes, so the throughput of such a run is
// not the broker's: count syncs in a separate run.
type straceCounter struct {
	proc  *child
	out   string
	began time.Time
}

func startStraceCounter(pid int) (*straceCounter, error) {
	f, err := os.CreateTemp("", "beatbench-strace-")
	if err != nil {
		return nil, err
	}
	f.Close()
	s := &straceCounter{out: f.Name()}
	if s.proc, err = startChild("strace", "-f", "-c", "-e", "trace=fdatasync,fsync", "-o", s.out, "-p", strconv.Itoa(pid)); err != nil {
		os.Remove(s.out)
		return nil, err
	}
	s.began = time.Now()
	return s, nil
}

func (s *straceCounter) stop() (int64, int64, time.Duration, error) {
	defer os.Remove(s.out)
	counted := time.Since(s.began)
	if err := s.proc.interrupt(); err != nil {
		return 0, 0, 0, err
	}
	b, err := os.ReadFile(s.out)
	if err != nil {
		return 0, 0, 0, err
	}
	fd, fs := parseStraceSummary(b)
	return fd, fs, counted, nil
}

// parseStraceSummary reads the calls column of strace -c's table.
func parseStraceSummary(b []byte) (fdatasync, fsync int64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			continue
		}
		switch f[len(f)-1] {
		case "fdatasync":
			fdatasync = n
		case "fsync":
			fsync = n
		}
	}
	return fdatasync, fsync
}

func (s *straceCounter) kill() {
	s.proc.kill()
	os.Remove(s.out)
}
