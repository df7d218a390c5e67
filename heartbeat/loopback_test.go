package heartbeat

import (
	"errors"
	"io"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// End to end over a real loopback socket, T = 80 ms: while the client talks
// every T/2 the broker side heartbeats at T/2 and does not time out; once the
// client goes silent, OnTimeout fires 2T..3T after its last octet and Reset
// ends the connection with a RST and no close frame.
//
// Real clocks only ever run late, so the assertions are one-sided where the
// algorithm gives a hard bound (no heartbeat sooner than T/2 after the
// previous one; no timeout sooner than 2T after the last octet) and generous
// where it does not.
func TestLoopbackCadenceAndDetection(t *testing.T) {
	const T = 80 * time.Millisecond
	client, server := tcpPair(t)
	cc := NewCountingConn(server)

	var wg sync.WaitGroup
	wg.Go(func() { // broker reader
		buf := make([]byte, 512)
		for {
			if _, err := cc.Read(buf); err != nil {
				return
			}
		}
	})
	type arrival struct {
		frame [8]byte
		err   error
	}
	frames := make(chan arrival, 256)
	wg.Go(func() { // client reader
		client.SetReadDeadline(time.Now().Add(time.Minute))
		for {
			var a arrival
			_, a.err = io.ReadFull(client, a.frame[:])
			frames <- a
			if a.err != nil {
				return
			}
		}
	})

	// The tune-ok, read by the broker before the monitor starts.
	if _, err := client.Write(heartbeatFrame); err != nil {
		t.Fatal(err)
	}
	for i := 0; cc.Received() < 8; i++ {
		if i == 10000 {
			t.Fatal("the broker never read the tune-ok")
		}
		time.Sleep(time.Millisecond)
	}

	var mu sync.Mutex
	var sends []time.Duration
	timedOut := make(chan time.Time, 1)
	start := time.Now()
	m := Start(Config{
		Interval: T,
		Counters: cc,
		SendHeartbeat: func() error {
			mu.Lock()
			sends = append(sends, time.Since(start))
			mu.Unlock()
			_, err := cc.Write(heartbeatFrame)
			return err
		},
		OnTimeout: func() {
			timedOut <- time.Now()
			cc.Reset()
		},
	})
	defer m.Stop()

	// Phase 1: the client sends a heartbeat every T/2 for 8T.
	var lastWrite time.Time
	for time.Since(start) < 8*T {
		select {
		case at := <-timedOut:
			t.Fatalf("timed out at %v while the client was talking", at.Sub(start))
		case <-time.After(T / 2):
		}
		lastWrite = time.Now()
		if _, err := client.Write(heartbeatFrame); err != nil {
			t.Fatal(err)
		}
	}

	// Phase 2: silence. The broker must give up and reset the socket.
	var firedAt time.Time
	select {
	case firedAt = <-timedOut:
	case <-time.After(3*T + 10*time.Second):
		t.Fatal("no timeout after the client went silent")
	}
	if d := firedAt.Sub(lastWrite); d < 2*T {
		t.Errorf("timeout %v after the last octet, want at least 2T = %v", d, 2*T)
	} else {
		t.Logf("timeout %v (%.2fT) after the last octet", d, float64(d)/float64(T))
	}

	var got int
	var readErr error
	for a := range frames {
		if a.err != nil {
			readErr = a.err
			break
		}
		if string(a.frame[:]) != string(heartbeatFrame) {
			t.Errorf("client got frame % x, want only heartbeats (no connection.close)", a.frame)
		}
		got++
	}
	if !errors.Is(readErr, syscall.ECONNRESET) {
		t.Errorf("client read ended with %v, want ECONNRESET", readErr)
	}

	m.Stop()
	mu.Lock()
	defer mu.Unlock()
	// A RST may discard heartbeats still unread in the client's buffer.
	if got == 0 || got > len(sends) {
		t.Errorf("client read %d heartbeats, broker sent %d", got, len(sends))
	}
	if len(sends) < 8 {
		t.Fatalf("only %d heartbeats in %v", len(sends), firedAt.Sub(start))
	}
	if sends[0] < T/2 {
		t.Errorf("first heartbeat %v after start, before T/2", sends[0])
	}
	gaps := make([]time.Duration, len(sends)-1)
	for i := range gaps {
		gaps[i] = sends[i+1] - sends[i]
		if gaps[i] < T/2 {
			t.Errorf("heartbeats %d and %d only %v apart, want at least T/2 = %v", i, i+1, gaps[i], T/2)
		}
	}
	slices.Sort(gaps)
	if med := gaps[len(gaps)/2]; med >= T {
		t.Errorf("median gap %v, want about T/2 = %v", med, T/2)
	} else {
		t.Logf("%d heartbeats, gaps %v .. %v, median %v", len(sends), gaps[0], gaps[len(gaps)-1], med)
	}
	wg.Wait()
	goleak.VerifyNone(t)
}
