//go:build integration

package integration

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	tgt     target    // the broker under test, started once for the run
	tgtErr  error     // why it could not be started
	clients []*client // the library clients with scenario programs
	workDir string    // temporary: builds, the broker's log
)

// TestMain starts the broker (beatmq, or RabbitMQ with BEATMQ_TARGET=rabbitmq),
// builds the scenario programs, runs the tests, stops the broker, prints the
// results table and checks for leaked goroutines. A broker that cannot start
// fails every test (it does not skip them).
func TestMain(m *testing.M) {
	switch os.Getenv(deadPeerClientEnv) { // started by TestDeadPeerWhileBlocked inside a namespace
	case "consume":
		os.Exit(deadPeerClient())
	case "stall":
		os.Exit(deadPeerStallClient())
	}
	code := runMain(m)
	os.Exit(code)
}

func runMain(m *testing.M) int {
	var err error
	workDir, err = os.MkdirTemp("", "beatmq-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	kind := os.Getenv("BEATMQ_TARGET")
	if kind == "" {
		kind = "beatmq"
	}
	clients = newClients(workDir)
	began := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Prepare() }()
	}
	tgt, tgtErr = startTarget(workDir)
	if tgtErr == nil {
		fmt.Printf("interop: %s on %s (ready after %.1fs), log %s\n", tgt.Kind(), tgt.Addr(), time.Since(began).Seconds(), tgt.LogPath())
	} else {
		fmt.Printf("interop: the broker did not start: %v\n", tgtErr)
	}
	wg.Wait()
	fmt.Printf("interop: scenario programs built after %.1fs\n", time.Since(began).Seconds())

	code := m.Run()

	if tgt != nil {
		stopping := time.Now()
		if err := tgt.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "interop: stopping the broker:", err)
			code = 1
		}
		fmt.Printf("interop: broker stopped in %.1fs\n", time.Since(stopping).Seconds())
	}
	writeResults(kind)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "interop: leaked goroutines:", err)
			code = 1
		}
	}
	if code == 0 && os.Getenv("BEATMQ_KEEP") == "" {
		_ = os.RemoveAll(workDir)
	} else {
		fmt.Printf("interop: kept %s (broker log and builds)\n", workDir)
	}
	return code
}

// slots limits how many client programs of the timing-sensitive scenarios run
// at once (BEATMQ_INTEROP_PARALLEL, default 4): a 1 s heartbeat leaves amqp091-go
// 1.5 s of read deadline, which a machine busy starting JVMs can eat.
var slots = make(chan struct{}, parallelism())

func parallelism() int {
	if n, err := strconv.Atoi(os.Getenv("BEATMQ_INTEROP_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return 4
}

// slot takes one of the slots until the test ends.
func slot(t *testing.T) {
	slots <- struct{}{}
	t.Cleanup(func() { <-slots })
}

var (
	ranMu sync.Mutex
	ran   = map[string]bool{}
)

// scenariosRan reports whether scenarios 1–4 all ran in this run (not filtered
// out by -run), so that every log format should be in the log.
func scenariosRan() bool {
	ranMu.Lock()
	defer ranMu.Unlock()
	for _, n := range []string{"TestRoundtrip", "TestNegotiation", "TestIdle", "TestBrokerSilent", "TestClientSilent"} {
		if !ran[n] {
			return false
		}
	}
	return true
}

// broker returns the broker under test, failing the test if it did not start.
func broker(t *testing.T) target {
	t.Helper()
	ranMu.Lock()
	ran[t.Name()] = true
	ranMu.Unlock()
	if tgtErr != nil {
		t.Fatalf("the broker under test did not start: %v", tgtErr)
	}
	return tgt
}
