//go:build integration

package integration

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// direction names one half of a relayed connection.
type direction int

const (
	clientToBroker direction = iota
	brokerToClient
)

// relayStats is what a relay saw of its single connection.
type relayStats struct {
	Accepted        bool
	AcceptedAt      time.Time
	BrokerLocalPort int       // the relay's port towards the broker: the broker's "peer port"
	LastC2B         time.Time // last octet forwarded client → broker
	LastB2C         time.Time // last octet forwarded broker → client
	DroppedAt       time.Time // when forwarding stopped in one direction
	BrokerClosed    time.Time // when reading from the broker ended (EOF, RST, or the relay's own close)
	BrokerErr       error
	ClientClosed    time.Time
	ClientErr       error
	// AfterDropB2C holds what the broker sent (forwarded or not) after Drop,
	// up to 64 KiB: the scenarios look in it for a connection.close.
	AfterDropB2C []byte
	// AfterDropB2CRecords are the TLS records the broker sent after Drop,
	// read as TLS from the connection's first octet (meaningful only when the
	// client speaks TLS through the relay): over TLS the frames themselves
	// cannot be read, their records' sizes can.
	AfterDropB2CRecords []tlsRecord
}

// relay is a one-connection TCP relay between a client and the broker that can
// stop forwarding one direction (it keeps reading and discards, so the sender
// never blocks). It closes itself after its lifetime, and at test cleanup.
type relay struct {
	ln     net.Listener
	target string
	drop   [2]atomic.Bool

	mu      sync.Mutex
	st      relayStats
	conns   []net.Conn
	changed chan struct{} // closed and replaced on every stats change

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup
	timer     *time.Timer
}

// newRelay listens on a free loopback port and forwards the first connection it
// accepts to target, for at most life.
func newRelay(t testing.TB, target string, life time.Duration) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("relay listen: %v", err)
	}
	r := &relay{ln: ln, target: target, changed: make(chan struct{}), closed: make(chan struct{})}
	r.timer = time.AfterFunc(life, r.Close)
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.Close)
	return r
}

// Port is the port clients connect to.
func (r *relay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Drop stops forwarding one direction from now on.
func (r *relay) Drop(d direction) {
	r.update(func(st *relayStats) {
		if st.DroppedAt.IsZero() {
			st.DroppedAt = time.Now()
		}
	})
	r.drop[d].Store(true)
}

// Stats returns a snapshot.
func (r *relay) Stats() relayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.AfterDropB2C = append([]byte(nil), r.st.AfterDropB2C...)
	st.AfterDropB2CRecords = append([]tlsRecord(nil), r.st.AfterDropB2CRecords...)
	return st
}

// hasConnectionClose reports whether b holds a connection.close method frame:
// type 1, channel 0, then class 10, method 50 after the 4-octet size.
func hasConnectionClose(b []byte) bool {
	for i := 0; i+11 <= len(b); i++ {
		if b[i] == 1 && b[i+1] == 0 && b[i+2] == 0 &&
			b[i+7] == 0 && b[i+8] == 10 && b[i+9] == 0 && b[i+10] == 50 {
			return true
		}
	}
	return false
}

// heartbeatFrames counts whole heartbeat frames (08 00 00 00 00 00 00 CE) in b.
func heartbeatFrames(b []byte) int {
	hb := []byte{8, 0, 0, 0, 0, 0, 0, 0xCE}
	n := 0
	for i := 0; i+len(hb) <= len(b); i++ {
		if string(b[i:i+len(hb)]) == string(hb) {
			n++
			i += len(hb) - 1
		}
	}
	return n
}

// WaitFor waits until cond holds for the stats or the timeout passes; it returns
// the last snapshot and whether cond held.
func (r *relay) WaitFor(timeout time.Duration, cond func(relayStats) bool) (relayStats, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		st, ch := r.st, r.changed
		r.mu.Unlock()
		if cond(st) {
			return st, true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return r.Stats(), cond(r.Stats())
		}
	}
}

// Close stops the relay and both sockets and waits for its goroutines.
func (r *relay) Close() {
	r.closeOnce.Do(func() {
		close(r.closed)
		r.timer.Stop()
		_ = r.ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			_ = c.Close()
		}
		r.mu.Unlock()
	})
	r.wg.Wait()
}

func (r *relay) update(f func(*relayStats)) {
	r.mu.Lock()
	f(&r.st)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// track registers a socket for Close; it reports false (and closes c) if the
// relay is already closed.
func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.closed:
		_ = c.Close()
		return false
	default:
	}
	r.conns = append(r.conns, c)
	return true
}

func (r *relay) accept() {
	defer r.wg.Done()
	client, err := r.ln.Accept()
	_ = r.ln.Close() // one connection per relay
	if err != nil {
		return
	}
	if !r.track(client) {
		return
	}
	broker, err := net.DialTimeout("tcp", r.target, 5*time.Second)
	if err != nil {
		r.update(func(st *relayStats) { st.BrokerClosed, st.BrokerErr = time.Now(), err })
		_ = client.Close()
		return
	}
	if !r.track(broker) {
		_ = client.Close()
		return
	}
	r.update(func(st *relayStats) {
		st.Accepted, st.AcceptedAt = true, time.Now()
		st.BrokerLocalPort = broker.LocalAddr().(*net.TCPAddr).Port
	})
	r.wg.Add(2)
	go r.pipe(client, broker, clientToBroker)
	go r.pipe(broker, client, brokerToClient)
}

// pipe copies src to dst until src ends. An orderly end (EOF) is passed on as a
// half close; a reset or error is passed on as a reset (linger 0), as RabbitMQ's
// own closes arrive.
func (r *relay) pipe(src, dst net.Conn, d direction) {
	defer r.wg.Done()
	buf := make([]byte, 32*1024)
	var records tlsScanner
	for {
		n, err := src.Read(buf)
		var recs []tlsRecord
		if d == brokerToClient {
			recs = records.feed(buf[:n])
		}
		if n > 0 && d == brokerToClient && (r.drop[0].Load() || r.drop[1].Load()) {
			r.update(func(st *relayStats) {
				if len(st.AfterDropB2C) < 64*1024 {
					st.AfterDropB2C = append(st.AfterDropB2C, buf[:n]...)
				}
				if len(st.AfterDropB2CRecords) < 4096 {
					st.AfterDropB2CRecords = append(st.AfterDropB2CRecords, recs...)
				}
			})
		}
		if n > 0 && !r.drop[d].Load() {
			if _, werr := dst.Write(buf[:n]); werr == nil {
				now := time.Now()
				r.update(func(st *relayStats) {
					if d == clientToBroker {
						st.LastC2B = now
					} else {
						st.LastB2C = now
					}
				})
			}
		}
		if err != nil {
			now := time.Now()
			r.update(func(st *relayStats) {
				if d == clientToBroker {
					st.ClientClosed, st.ClientErr = now, err
				} else {
					st.BrokerClosed, st.BrokerErr = now, err
				}
			})
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
					return
				}
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = dst.Close()
			_ = src.Close()
			return
		}
	}
}

// hostPort joins a loopback address.
func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
