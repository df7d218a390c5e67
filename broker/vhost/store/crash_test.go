package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "STORE_CRASH_CHILD"

// TestCrashKill runs a child process that publishes with completions,
// marks deliveries and acks on a small-segment store (so rollover,
// removal and compaction happen), and kills it with SIGKILL at a random
// moment; then it recovers and checks that every message whose publish
// had completed is there unless it was acked, that nothing unknown
// appears and every body is intact. Several rounds on the same directory.
func TestCrashKill(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	type key struct {
		q  uint32
		id uint64
	}
	completed := map[key]bool{} // publish completed
	acked := map[key]bool{}     // Ack called (may be lost: at-least-once)
	published := map[key]bool{} // Publish called
	r := rand.New(rand.NewPCG(7, 7))
	const rounds = 8
	checked := 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKill$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "STORE_CRASH_ROUND="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		ready := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			once := sync.OnceFunc(func() { close(ready) })
			defer once()
			for sc.Scan() {
				var op string
				var q uint32
				var id uint64
				if _, err := fmt.Sscan(sc.Text(), &op, &q, &id); err != nil {
					continue
				}
				k := key{q, id}
				switch op {
				case "ready":
					once()
				case "p":
					published[k] = true
				case "c":
					completed[k] = true
				case "a":
					acked[k] = true
				}
			}
		}()
		<-ready
		time.Sleep(time.Duration(20+r.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		wg.Wait()
		cmd.Wait()

		s, rec, err := openRec(dir, Options{SegmentSize: 64 << 10})
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL: %v", round, err)
		}
		present := map[key]bool{}
		for q, msgs := range loadAll(t, rec) {
			for _, m := range msgs {
				k := key{q, m.ID}
				present[k] = true
				if !published[k] {
					t.Errorf("round %d: queue %d id %d recovered but never published", round, q, m.ID)
				}
				if want := payload(q, m.ID, int(m.ID%300)); string(m.Data) != string(want) {
					t.Errorf("round %d: queue %d id %d: body damaged", round, q, m.ID)
				}
			}
		}
		lost := 0
		for k := range completed {
			if !acked[k] && !present[k] {
				t.Errorf("round %d: queue %d id %d completed, not acked, lost", round, k.q, k.id)
				lost++
			}
			checked++
		}
		if lost > 0 && os.Getenv("STORE_CRASH_KEEP") != "" {
			keep := fmt.Sprintf("%s/crash-%d", os.Getenv("STORE_CRASH_KEEP"), round)
			exec.Command("cp", "-a", dir, keep).Run()
			t.Logf("kept %s", keep)
		}
		if rec.Truncated != nil {
			t.Logf("round %d: cut %d bytes at %s:%d (%s)", round, rec.Truncated.Dropped, rec.Truncated.File, rec.Truncated.Offset, rec.Truncated.Reason)
		}
		t.Logf("round %d: %d published, %d completed, %d acked so far; %d recovered from %d segments (%d by summary) in %v",
			round, len(published), len(completed), len(acked), rec.Messages, rec.Segments, rec.Summaries, rec.Duration)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds, %d completed publishes checked", rounds, checked)
}

// crashChild publishes until it is killed; it prints "p q id" before a
// Publish, "c q id" when it completed and "a q id" before an Ack.
func crashChild(dir string) {
	round, _ := strconv.Atoi(os.Getenv("STORE_CRASH_ROUND"))
	s, _, err := openRec(dir, Options{SegmentSize: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	emit := func(op string, q uint32, id uint64) {
		mu.Lock()
		fmt.Fprintln(out, op, q, id)
		out.Flush()
		mu.Unlock()
	}
	emit("ready", 0, 0)
	var wg sync.WaitGroup
	for p := range uint32(8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := uint32(round)*100 + p
			r := rand.New(rand.NewPCG(uint64(q), 3))
			ch := make(chan error, 1)
			var live []uint64
			for id := uint64(1); ; id++ {
				emit("p", q, id)
				if _, err := s.Publish(q, id, payload(q, id, int(id%300)), func(err error) { ch <- err }); err != nil {
					return
				}
				if <-ch != nil {
					return
				}
				emit("c", q, id)
				live = append(live, id)
				for len(live) > 20 || (len(live) > 0 && r.IntN(3) == 0) {
					a := live[0]
					live = live[1:]
					s.Delivered(q, a)
					// Told before the call: the ack may reach the file
					// before a line printed after it would.
					emit("a", q, a)
					s.Ack(q, a)
				}
			}
		}()
	}
	wg.Wait()
}
