package heartbeat

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var benchConns = flag.Int("heartbeat.conns", 10000, "connections held by BenchmarkIdleConnections")

var benchCoalesce = flag.Duration("heartbeat.coalesce", CoalesceFor(time.Second), "Config.Coalesce of BenchmarkIdleConnections' monitors (0: exact timing)")

const benchPeerEnv = "BEATMQ_HEARTBEAT_BENCH_PEER" // "addr,n": run as the client side

// BenchmarkIdleConnections measures what the heartbeat machinery of an idle
// connection costs at T = 1 s, over real loopback TCP, for -heartbeat.conns
// connections (10,000 by default), with Config.Coalesce as the broker sets it
// (-heartbeat.coalesce=0 for exact timing).
//
// The clients live in a child process (this test binary re-executed), so
// their CPU and memory are not counted; each answers like an idle AMQP client,
// sending a heartbeat every T/2 and reading (discarding) the broker's. The
// broker side here has a CountingConn and a reader goroutine per connection.
// The benchmark measures that harness alone for a few seconds, then starts a
// Monitor per connection (spread over one period, as connections arrive at
// different moments) and measures again; the differences, divided by the
// number of connections, are the machinery's cost:
//
//	heap-B/conn   live heap after a GC (Monitor, timers, channels, goroutine descriptors)
//	stack-B/conn  goroutine stacks, before and after a GC (a GC shrinks stacks grown by a send)
//	rss-B/conn    growth of the resident set
//	cpu-µs/conn/s process CPU (user+system, getrusage) per connection per second
//	hb/conn/s     heartbeats sent per connection per second (2 expected)
//	peak-check-goroutines  most check goroutines seen at once (sampled every 10 ms)
func BenchmarkIdleConnections(b *testing.B) {
	if raceEnabled {
		b.Skip("the race detector cannot hold this many goroutines")
	}
	const T = time.Second
	const window = 3 * time.Second
	n := *benchConns

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	peer := exec.Command(os.Args[0], "-test.run=^$")
	peer.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", benchPeerEnv, ln.Addr(), n))
	peer.Stderr = os.Stderr
	stdin, err := peer.StdinPipe() // closing it tells the peer to exit
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := peer.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := peer.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		peer.Wait()
	}()

	conns := make([]*CountingConn, 0, n)
	for len(conns) < n {
		c, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, NewCountingConn(c))
	}
	var readers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	}()
	for _, c := range conns {
		readers.Go(func() { // the broker's reader: any octet is liveness
			var buf [64]byte
			for {
				if _, err := c.Read(buf[:]); err != nil {
					return
				}
			}
		})
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("peer: %q, %v", line, err)
	}
	time.Sleep(T) // every client has spoken; the reader stacks have settled

	b.ResetTimer()
	runtime.GC()
	goroutines0 := runtime.NumGoroutine()
	mem0, rss0 := memUsage()
	cpu0 := cpuTime()
	time.Sleep(window)
	cpuHarness := cpuTime() - cpu0

	var mu sync.Mutex
	nTimeouts, nSendErrs := 0, 0
	// Connections reach tune-ok at random moments, so the monitors start
	// spread over one period rather than all at once.
	monitors := make([]*Monitor, n)
	const batches = 100
	for i, c := range conns {
		if i%(n/batches+1) == 0 {
			time.Sleep(T / batches)
		}
		monitors[i] = Start(Config{
			Interval: T,
			Counters: c,
			SendHeartbeat: func() error {
				_, err := c.Write(heartbeatFrame)
				return err
			},
			OnTimeout:   func() { mu.Lock(); nTimeouts++; mu.Unlock() },
			OnSendError: func(error) { mu.Lock(); nSendErrs++; mu.Unlock() },
			Coalesce:    *benchCoalesce,
		})
	}
	time.Sleep(T) // past the first ticks of every monitor: steady state
	cpu1 := cpuTime()
	sent1 := totalSent(conns)
	// The checks run on short-lived goroutines: sample how many exist at once.
	peak := 0
	for deadline := time.Now().Add(window); time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		peak = max(peak, runtime.NumGoroutine()-goroutines0)
	}
	cpuMachinery := cpuTime() - cpu1
	sent2 := totalSent(conns)
	memGrown, rss1 := memUsage()
	runtime.GC()
	mem1, _ := memUsage()
	b.StopTimer()

	for _, m := range monitors {
		m.Stop()
	}
	mu.Lock()
	defer mu.Unlock()
	if nTimeouts != 0 || nSendErrs != 0 {
		// Only a starved machine gets here: the clients answer every T/2.
		b.Logf("%d timeouts and %d send errors on idle connections", nTimeouts, nSendErrs)
	}

	perConn := func(v int64) float64 { return float64(v) / float64(n) }
	secs := window.Seconds()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(perConn(int64(mem1.heap-mem0.heap)), "heap-B/conn")
	b.ReportMetric(perConn(int64(memGrown.stack-mem0.stack)), "stack-B/conn")
	b.ReportMetric(perConn(int64(mem1.stack-mem0.stack)), "stack-after-GC-B/conn")
	b.ReportMetric(perConn(int64(mem1.heap+mem1.stack-mem0.heap-mem0.stack)), "B/conn")
	b.ReportMetric(perConn(rss1-rss0), "rss-B/conn")
	b.ReportMetric(perConn(int64(cpuMachinery-cpuHarness))/secs/1e3, "cpu-µs/conn/s")
	b.ReportMetric(perConn(int64(cpuHarness))/secs/1e3, "harness-cpu-µs/conn/s")
	b.ReportMetric(float64(sent2-sent1)/8/float64(n)/secs, "hb/conn/s")
	b.ReportMetric(float64(peak), "peak-check-goroutines")
	b.ReportMetric(float64(nTimeouts), "timeouts")
}

type memFigures struct{ heap, stack uint64 }

func memUsage() (memFigures, int64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memFigures{heap: ms.HeapAlloc, stack: ms.StackInuse}, rss()
}

// rss returns the resident set size from /proc/self/statm, or 0.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func totalSent(conns []*CountingConn) uint64 {
	var s uint64
	for _, c := range conns {
		s += c.Sent()
	}
	return s
}

// runBenchPeer is the client side of BenchmarkIdleConnections: it opens the
// connections, says "ready", then sends a heartbeat on each every 500 ms
// (spread over the period) and discards what arrives, until stdin closes.
func runBenchPeer() int {
	addr, count, _ := strings.Cut(os.Getenv(benchPeerEnv), ",")
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		return 2
	}
	conns := make([]net.Conn, n)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", addr); err != nil {
			fmt.Fprintln(os.Stderr, "peer dial:", err)
			return 1
		}
		conns[i].Write(heartbeatFrame) // the tune-ok
		go io.Copy(io.Discard, conns[i])
	}
	fmt.Println("ready")
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	const batch = 100
	pause := 500 * time.Millisecond / time.Duration((n+batch-1)/batch)
	for {
		for i := 0; i < n; i += batch {
			for _, c := range conns[i:min(i+batch, n)] {
				c.Write(heartbeatFrame)
			}
			time.Sleep(pause)
		}
	}
}
