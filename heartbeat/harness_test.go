package heartbeat

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heartbeatFrame is the frame rabbit_binary_generator:build_heartbeat_frame/0
// builds; dataFrame stands for any other 8-octet frame (a method frame type 1).
var (
	heartbeatFrame = []byte{8, 0, 0, 0, 0, 0, 0, 0xCE}
	dataFrame      = []byte{1, 0, 0, 0, 0, 0, 0, 0xCE}
)

// pipeConn is one connection over net.Pipe, for tests inside a synctest
// bubble: the broker side is wrapped in a CountingConn and drained by a
// reader goroutine, as the broker's reader would; the client side records
// when each frame from the broker arrives.
type pipeConn struct {
	t      *testing.T
	start  time.Time // when the Monitor was started
	server *CountingConn
	client net.Conn
	mon    *Monitor

	mu       sync.Mutex
	beats    []time.Duration // heartbeat arrivals at the client, since start
	others   int             // other frames that arrived at the client
	timeouts []time.Duration // OnTimeout calls, since start
	sendErrs []error         // OnSendError calls

	wg sync.WaitGroup
}

// newPipeConn connects a client to a broker side over net.Pipe, lets the
// client send the 8 octets of a tune-ok (as a real peer has by the time the
// monitor starts), and starts a Monitor with interval T. The connection and
// the monitor are torn down when the test ends.
// Options, if any, adjust the Monitor's Config before Start.
func newPipeConn(t *testing.T, interval time.Duration, opts ...func(*Config)) *pipeConn {
	t.Helper()
	s, c := net.Pipe()
	p := &pipeConn{t: t, server: NewCountingConn(s), client: c}
	p.wg.Add(2)
	go func() { // broker reader: any octet is liveness
		defer p.wg.Done()
		buf := make([]byte, 64)
		for {
			if _, err := p.server.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() { // client reader
		defer p.wg.Done()
		var f [8]byte
		for {
			if _, err := io.ReadFull(p.client, f[:]); err != nil {
				return
			}
			p.mu.Lock()
			if f[0] == 8 {
				p.beats = append(p.beats, time.Since(p.start))
			} else {
				p.others++
			}
			p.mu.Unlock()
		}
	}()
	p.clientSend(dataFrame) // the tune-ok
	p.start = time.Now()
	cfg := Config{
		Interval: interval,
		Counters: p.server,
		SendHeartbeat: func() error {
			_, err := p.server.Write(heartbeatFrame)
			return err
		},
		OnTimeout: func() {
			p.mu.Lock()
			p.timeouts = append(p.timeouts, time.Since(p.start))
			p.mu.Unlock()
		},
		OnSendError: func(err error) {
			p.mu.Lock()
			p.sendErrs = append(p.sendErrs, err)
			p.mu.Unlock()
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	p.mon = Start(cfg)
	t.Cleanup(p.close)
	return p
}

func (p *pipeConn) close() {
	p.mon.Stop()
	p.server.Close()
	p.client.Close()
	p.wg.Wait()
}

// clientSend writes b from the client; it returns once the broker reader has
// taken every octet (net.Pipe is synchronous).
func (p *pipeConn) clientSend(b []byte) {
	p.t.Helper()
	if _, err := p.client.Write(b); err != nil {
		p.t.Fatalf("client write: %v", err)
	}
}

// serverSend writes a non-heartbeat frame from the broker side.
func (p *pipeConn) serverSend() {
	p.t.Helper()
	if _, err := p.server.Write(dataFrame); err != nil {
		p.t.Fatalf("server write: %v", err)
	}
}

// sleepUntil sleeps until d after the monitor started.
func (p *pipeConn) sleepUntil(d time.Duration) {
	time.Sleep(time.Until(p.start.Add(d)))
}

func (p *pipeConn) heartbeats() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.beats...)
}

func (p *pipeConn) otherFrames() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.others
}

func (p *pipeConn) timeoutTimes() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.timeouts...)
}

func (p *pipeConn) sendErrors() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.sendErrs...)
}

// multiples returns k*step for k = from..to.
func multiples(step time.Duration, from, to int) []time.Duration {
	var out []time.Duration
	for k := from; k <= to; k++ {
		out = append(out, time.Duration(k)*step)
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fakeCounters is a Counters whose values the test sets, counting how often
// each is read.
type fakeCounters struct {
	recv, sent           atomic.Uint64
	recvReads, sentReads atomic.Int64
}

func (f *fakeCounters) Received() uint64 { f.recvReads.Add(1); return f.recv.Load() }
func (f *fakeCounters) Sent() uint64     { f.sentReads.Add(1); return f.sent.Load() }

var errBroken = errors.New("broken pipe")
