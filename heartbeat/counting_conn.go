package heartbeat

import (
	"net"
	"sync/atomic"
)

// CountingConn wraps a net.Conn and counts the octets read from it and written
// to it, the recv_oct and send_oct statistics rabbit_heartbeat polls through
// rabbit_net:getstat/2. The counters are atomics, so Read and Write take no
// lock and the heartbeat loops can poll them from other goroutines.
//
// An octet counts when Read or Write returns it, partial frames included: any
// octet is a valid substitute for a heartbeat (AMQP 0-9-1 §4.2.7).
//
// Only the net.Conn methods are promoted, so io.Copy and bufio cannot bypass
// the counters through the wrapped connection's ReadFrom or WriteTo.
type CountingConn struct {
	net.Conn
	// The two counters share a cache line; each is written by one goroutine
	// (reader, writer) once per system call, so false sharing costs nothing
	// measurable next to the syscall, and padding would cost 56 B per connection.
	received atomic.Uint64
	sent     atomic.Uint64
	muted    atomic.Bool // SetReceiveMuted
}

// NewCountingConn returns c wrapped with zeroed counters.
func NewCountingConn(c net.Conn) *CountingConn {
	return &CountingConn{Conn: c}
}

// Read reads from the wrapped connection and counts what it returned.
func (c *CountingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.muted.Load() {
		c.received.Add(uint64(n))
	}
	return n, err
}

// SetReceiveMuted stops (true) or resumes counting the octets Read returns:
// a layer above, such as TLS, can then go on reading octets that must not
// count as the peer's activity (a fault that drops them) without losing
// its place in the stream.
func (c *CountingConn) SetReceiveMuted(on bool) { c.muted.Store(on) }

// Write writes to the wrapped connection and counts what it accepted.
func (c *CountingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.sent.Add(uint64(n))
	}
	return n, err
}

// Received returns the number of octets read so far (recv_oct).
func (c *CountingConn) Received() uint64 { return c.received.Load() }

// Sent returns the number of octets written so far (send_oct).
func (c *CountingConn) Sent() uint64 { return c.sent.Load() }

// NetConn returns the wrapped connection.
func (c *CountingConn) NetConn() net.Conn { return c.Conn }

// Reset closes the connection abortively. On a TCP connection it sets
// SO_LINGER to 0 first, so the peer gets a RST instead of a FIN, as from
// RabbitMQ, whose listeners use {linger, {true, 0}} (rabbit's default
// tcp_listen_options) and which closes a connection that missed heartbeats
// with rabbit_net:fast_close/1. Other connections are simply closed.
func (c *CountingConn) Reset() error {
	if l, ok := c.Conn.(interface{ SetLinger(sec int) error }); ok {
		_ = l.SetLinger(0) // best effort: the close below is what matters
	}
	return c.Conn.Close()
}
