package heartbeat

import (
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Octets waiting unread in the socket count as activity at the moment the
// receiver would report a timeout; once nothing is waiting, the timeout comes
// on the next check that would have reported it.
func TestReceiverUnreadCountsAsActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = time.Second
		var c fakeCounters
		c.recv.Store(8)
		var unread atomic.Bool
		unread.Store(true)
		var fired atomic.Int64
		start := time.Now()
		m := Start(Config{Interval: T, Counters: &c, SendHeartbeat: func() error { return nil },
			OnTimeout: func() { fired.Store(int64(time.Since(start))) },
			Unread:    unread.Load})
		defer m.Stop()
		time.Sleep(10*T + T/2)
		synctest.Wait()
		if got := fired.Load(); got != 0 {
			t.Fatalf("timeout at %v while octets were waiting", time.Duration(got))
		}
		unread.Store(false)
		time.Sleep(3 * T)
		synctest.Wait()
		// Unchanged checks alternate between "first unchanged" (even T) and
		// "would fire, but octets wait" (odd T, which resets the count), so
		// the first odd check with nothing waiting, 11T, fires.
		if got := time.Duration(fired.Load()); got != 11*T {
			t.Errorf("timeout at %v, want %v", got, 11*T)
		}
	})
}

// Unread asks the kernel: false on an idle socket, true once the peer wrote
// something Read has not returned, false again after it is read.
func TestCountingConnUnread(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	cc := NewCountingConn(s)
	defer cc.Close()
	if cc.Unread() {
		t.Fatal("Unread on an idle socket")
	}
	if _, err := client.Write(heartbeatFrame); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !cc.Unread() {
		if time.Now().After(deadline) {
			t.Fatal("Unread stayed false after the peer wrote")
		}
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, len(heartbeatFrame))
	if _, err := cc.Read(buf); err != nil {
		t.Fatal(err)
	}
	if cc.Unread() {
		t.Error("Unread after everything was read")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if NewCountingConn(p1).Unread() {
		t.Error("Unread on a pipe")
	}
}
