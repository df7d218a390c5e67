//go:build integration

package integration

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestRelay checks the suite's own relay against an echo server: it forwards
// both ways, drops one direction on request while still draining it, records
// the last forwarded octets, and passes the far end's close on.
func TestRelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	r := newRelay(t, ln.Addr().String(), 10*time.Second)
	c, err := net.Dial("tcp", hostPort(r.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, []byte("hello")) {
		t.Fatalf("echo through the relay: %q, %v", buf, err)
	}
	// The relay records an octet it forwarded after the write that passed it
	// on: the client may read the echo first.
	st, ok := r.WaitFor(2*time.Second, func(s relayStats) bool { return !s.LastB2C.IsZero() })
	if !ok || !st.Accepted || st.LastC2B.IsZero() || st.BrokerLocalPort == 0 {
		t.Fatalf("stats after one round trip: %+v", st)
	}

	r.Drop(brokerToClient)
	if _, err := c.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	// The echo comes back to the relay, which drops it.
	if _, ok := r.WaitFor(2*time.Second, func(s relayStats) bool { return s.LastC2B.After(st.LastC2B) }); !ok {
		t.Fatal("client → server stopped too")
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(buf); err == nil {
		t.Fatalf("read %q through a dropped direction", buf[:n])
	}
	if got := r.Stats().LastB2C; !got.Equal(st.LastB2C) {
		t.Errorf("LastB2C moved while dropped: %v → %v", st.LastB2C, got)
	}

	// The client closes: the relay passes the half close on, the echo server
	// ends, and the relay records both ends.
	_ = c.Close()
	<-echoDone
	if _, ok := r.WaitFor(2*time.Second, func(s relayStats) bool { return !s.ClientClosed.IsZero() && !s.BrokerClosed.IsZero() }); !ok {
		t.Fatalf("closes not recorded: %+v", r.Stats())
	}
	r.Close()
}

// TestFrameScan checks the two byte-stream scanners the scenarios use on what
// the broker sent after a drop.
func TestFrameScan(t *testing.T) {
	hb := []byte{8, 0, 0, 0, 0, 0, 0, 0xCE}
	// connection.close 320 "x", class 0 method 0.
	closeFrame := []byte{1, 0, 0, 0, 0, 0, 12, 0, 10, 0, 50, 1, 64, 1, 'x', 0, 0, 0, 0, 0xCE}
	cases := []struct {
		name  string
		in    []byte
		close bool
		beats int
	}{
		{"empty", nil, false, 0},
		{"heartbeats", append(append([]byte{}, hb...), hb...), false, 2},
		{"close after a heartbeat", append(append([]byte{}, hb...), closeFrame...), true, 1},
		{"partial heartbeat", hb[:5], false, 0},
		{"channel.close is not connection.close", []byte{1, 0, 1, 0, 0, 0, 12, 0, 20, 0, 40}, false, 0},
	}
	for _, c := range cases {
		if got := hasConnectionClose(c.in); got != c.close {
			t.Errorf("%s: hasConnectionClose = %v, want %v", c.name, got, c.close)
		}
		if got := heartbeatFrames(c.in); got != c.beats {
			t.Errorf("%s: heartbeatFrames = %d, want %d", c.name, got, c.beats)
		}
	}
}
