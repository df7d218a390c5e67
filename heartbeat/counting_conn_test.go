package heartbeat

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Every octet read or written through the wrapper is counted, partial reads
// included, with readers and writers running concurrently (run with -race).
func TestCountingConnCounts(t *testing.T) {
	a, b := net.Pipe()
	c := NewCountingConn(a)
	if c.NetConn() != a {
		t.Fatal("NetConn does not return the wrapped connection")
	}
	const rounds = 200
	var wg sync.WaitGroup
	wg.Go(func() { // peer: echo everything back
		io.Copy(b, b)
	})
	wg.Go(func() {
		msg := make([]byte, 13)
		for range rounds {
			if _, err := c.Write(msg); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	})
	buf := make([]byte, 5) // reads smaller than writes: partial frames count
	var got int
	for got < rounds*13 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got += n
	}
	c.Close()
	wg.Wait()
	if c.Sent() != rounds*13 || c.Received() != rounds*13 {
		t.Errorf("Sent %d, Received %d; want %d each", c.Sent(), c.Received(), rounds*13)
	}
	b.Close()
	// Failed calls count nothing.
	if _, err := c.Write([]byte{1}); err == nil {
		t.Error("write on a closed pipe succeeded")
	}
	if c.Sent() != rounds*13 {
		t.Errorf("a failed write was counted: Sent %d", c.Sent())
	}
}

// Reset closes a TCP connection with a RST, as RabbitMQ's linger {true, 0}
// listeners do: the peer's read fails with ECONNRESET rather than EOF.
func TestCountingConnResetSendsRST(t *testing.T) {
	client, server := tcpPair(t)
	c := NewCountingConn(server)
	if err := c.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := client.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("peer read after Reset: %v, want ECONNRESET", err)
	}
}

// Reset on a connection without SO_LINGER just closes it.
func TestCountingConnResetPipe(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	if err := NewCountingConn(a).Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("peer read after Reset: %v, want EOF", err)
	}
}

// tcpPair returns both ends of a loopback TCP connection, closed at cleanup.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// While received octets are muted, Read returns them uncounted.
func TestCountingConnReceiveMuted(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := NewCountingConn(a)
	go func() {
		_, _ = b.Write([]byte("abc"))
		_, _ = b.Write([]byte("defg"))
	}()
	buf := make([]byte, 8)
	c.SetReceiveMuted(true)
	if n, err := c.Read(buf); err != nil || n != 3 {
		t.Fatalf("muted read: %d, %v", n, err)
	}
	c.SetReceiveMuted(false)
	if n, err := c.Read(buf); err != nil || n != 4 {
		t.Fatalf("read: %d, %v", n, err)
	}
	if got := c.Received(); got != 4 {
		t.Fatalf("Received() = %d, want 4 (the muted 3 not counted)", got)
	}
}
