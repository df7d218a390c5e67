//go:build linux

package heartbeat

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// PeerAcks reads TCP_INFO: nothing acknowledged before anything was sent
// (ok false), then the octets the peer's kernel acknowledged, with nothing
// waiting once they are. A pipe cannot tell.
func TestCountingConnPeerAcks(t *testing.T) {
	_, s := tcpPair(t)
	cc := NewCountingConn(s)
	if _, ok := cc.PeerAcks(); ok {
		t.Error("PeerAcks ok before a single octet was acknowledged")
	}
	if _, err := cc.Write(heartbeatFrame); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, ok := cc.PeerAcks()
		if ok && a.Acked == uint64(len(heartbeatFrame)) && !a.Waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PeerAcks = %+v, %v after the peer's kernel had 5 s to acknowledge 8 octets", a, ok)
		}
		time.Sleep(time.Millisecond)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if _, ok := NewCountingConn(p1).PeerAcks(); ok {
		t.Error("PeerAcks ok on a pipe")
	}
}

// A live peer that does not read its socket closes its window; its kernel
// answers the window probes, so nothing is reported waiting however long the
// window stays closed. This is the peer the paused receiver must never
// report: blocked, and not even reading.
func TestCountingConnPeerAcksWindowClosed(t *testing.T) {
	_, s := tcpPair(t)
	cc := NewCountingConn(s)
	chunk := make([]byte, 64<<10)
	total := 0
	for i := 0; ; i++ { // fill both socket buffers until a write cannot proceed
		if i == 1<<14 {
			t.Fatalf("wrote %d octets without the peer reading and never blocked", total)
		}
		if err := cc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		n, err := cc.Write(chunk)
		total += n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Window probes back off from about 200 ms; 1.5 s covers several.
	for i := range 30 {
		a, ok := cc.PeerAcks()
		if !ok {
			t.Fatalf("PeerAcks not ok after %d octets were acknowledged", total)
		}
		if a.Waiting {
			t.Fatalf("sample %d: a live peer with a closed window reported waiting: %+v", i, a)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
