package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// closeKind says how the broker ended a connection.
type closeKind int32

const (
	stillOpen  closeKind = iota
	closedEOF            // orderly FIN
	closedRST            // connection reset
	closedMeth           // connection.close method seen before the socket closed (only parsed when tracked)
	closedErr            // any other read error
)

// pool is a set of raw connections, each watched by one reading goroutine with a
// small buffer, so that many thousands cost little on the client side.
type pool struct {
	ep endpoint
	// conns[i] is set once connection i completed its handshake; a heartbeat
	// sender may already be running while others connect.
	conns []atomic.Pointer[net.TCPConn]
	// lastSent is when each connection's last client octets were written, in
	// unix nanoseconds (the handshake's connection.open unless more is written).
	lastSent []atomic.Int64
	closedAt []atomic.Int64 // unix nanoseconds when the watcher saw the close; 0 while open
	kind     []atomic.Int32
	rxBytes  atomic.Uint64
	opened   atomic.Int64
	wg       sync.WaitGroup
	stopping atomic.Bool
}

// connectOptions are the knobs of connect.
type connectOptions struct {
	N           int
	Heartbeat   uint16 // seconds, sent in tune-ok
	Concurrency int    // handshakes in flight
	PerAddr     int    // connections per loopback source address
	Timeout     time.Duration
	// AfterOpen, when set, is called for each connection right after its
	// handshake, on the connecting goroutine.
	AfterOpen func(i int, c *net.TCPConn)
	// NoWatch leaves out the reading goroutine per connection: the caller drains
	// the connections itself (see drain), which costs the client far less CPU
	// than waking a goroutine for every heartbeat the broker sends.
	NoWatch bool
}

// connectStats describes how connecting went.
type connectStats struct {
	Opened   int
	Failed   int
	Duration time.Duration
	Errors   []string // the first few distinct errors
	Aborted  string   // why connecting stopped early, if it did
}

// isResourceErr reports errors after which opening more connections is pointless.
func isResourceErr(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM)
}

func newPool(ep endpoint, n int) *pool {
	return &pool{
		ep:       ep,
		conns:    make([]atomic.Pointer[net.TCPConn], n),
		lastSent: make([]atomic.Int64, n),
		closedAt: make([]atomic.Int64, n),
		kind:     make([]atomic.Int32, n),
	}
}

// connect opens o.N connections with o.Concurrency handshakes in flight and
// starts a watcher on each.
func (p *pool) connect(ctx context.Context, o connectOptions) connectStats {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	start := time.Now()
	var next, failed atomic.Int64
	var mu sync.Mutex
	var st connectStats
	seen := map[string]bool{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n := p.opened.Load()
				progressf(ctx, "connecting: %d/%d open, %d failed, %.0f/s", n, o.N, failed.Load(), float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < min(o.Concurrency, o.N); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.N {
					return
				}
				h, err := openRaw(ctx, p.ep, dialOptions{Heartbeat: o.Heartbeat, Src: p.src(i, o.PerAddr), Timeout: o.Timeout})
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if msg := err.Error(); !seen[msg] && len(st.Errors) < 5 {
						seen[msg] = true
						st.Errors = append(st.Errors, msg)
					}
					if isResourceErr(err) && st.Aborted == "" {
						st.Aborted = fmt.Sprintf("stopped after connection %d: %v", i, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				p.lastSent[i].Store(h.LastSent.UnixNano())
				p.conns[i].Store(h.Conn)
				if o.AfterOpen != nil {
					o.AfterOpen(i, h.Conn)
				}
				p.opened.Add(1)
				if !o.NoWatch {
					p.wg.Add(1)
					go p.watch(i, h.Conn)
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	st.Opened = int(p.opened.Load())
	st.Failed = o.N - st.Opened
	st.Duration = time.Since(start)
	return st
}

func (p *pool) src(i, perAddr int) net.IP {
	if !p.ep.Loopback {
		return nil
	}
	return sourceAddr(i, perAddr)
}

// watch reads and discards whatever the broker sends until the connection ends.
func (p *pool) watch(i int, c *net.TCPConn) {
	defer p.wg.Done()
	var buf [64]byte
	for {
		n, err := c.Read(buf[:])
		if n > 0 {
			p.rxBytes.Add(uint64(n))
		}
		if err != nil {
			if p.stopping.Load() {
				return
			}
			p.closedAt[i].Store(time.Now().UnixNano())
			k := closedErr
			switch {
			case errors.Is(err, io.EOF):
				k = closedEOF
			case errors.Is(err, syscall.ECONNRESET):
				k = closedRST
			}
			p.kind[i].Store(int32(k))
			return
		}
	}
}

// writeAt writes b to connection i and records the time as its last send.
func (p *pool) writeAt(i int, b []byte) {
	c := p.conns[i].Load()
	if c == nil || p.closedAt[i].Load() != 0 {
		return
	}
	if _, err := c.Write(b); err == nil {
		p.lastSent[i].Store(time.Now().UnixNano())
	}
}

// open returns how many connections are connected and not closed by the broker.
func (p *pool) open() int {
	n := 0
	for i := range p.conns {
		if p.conns[i].Load() != nil && p.closedAt[i].Load() == 0 {
			n++
		}
	}
	return n
}

// closeAll resets every connection and waits for the watchers to exit.
func (p *pool) closeAll() {
	p.stopping.Store(true)
	for i := range p.conns {
		if c := p.conns[i].Load(); c != nil {
			_ = c.SetLinger(0) // RST: no TIME_WAIT left behind for the next run
			_ = c.Close()
		}
	}
	p.wg.Wait()
}

// drain reads whatever connection i has received, without waiting, and marks
// the connection closed if the broker closed it. For pools without watchers.
func (p *pool) drain(i int) {
	c := p.conns[i].Load()
	if c == nil || p.closedAt[i].Load() != 0 {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	var buf [512]byte
	kind := stillOpen
	_ = rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf[:])
			switch {
			case n > 0:
				p.rxBytes.Add(uint64(n))
				if n == len(buf) {
					continue
				}
				return true
			case n == 0 && err == nil:
				kind = closedEOF
			case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			case errors.Is(err, syscall.ECONNRESET):
				kind = closedRST
			default:
				kind = closedErr
			}
			return true // never park: this is a poll
		}
	})
	if kind != stillOpen {
		p.closedAt[i].Store(time.Now().UnixNano())
		p.kind[i].Store(int32(kind))
	}
}

// heartbeatSender writes a heartbeat frame to every open connection once per
// period, spreading the writes over the period in slots so the broker sees a
// steady trickle rather than bursts. With drainEvery > 0 it also drains each
// connection on every drainEvery-th visit (pools without watchers).
func (p *pool) heartbeatSender(period time.Duration, stop <-chan struct{}, drainEvery int) {
	const slots = 50
	tick := period / slots
	if tick <= 0 {
		tick = time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	slot, pass := 0, 0
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		drain := drainEvery > 0 && pass%drainEvery == 0
		for i := slot; i < len(p.conns); i += slots {
			c := p.conns[i].Load()
			if c == nil || p.closedAt[i].Load() != 0 {
				continue
			}
			if drain {
				p.drain(i)
			}
			if _, err := c.Write(heartbeatFrame); err != nil && !p.stopping.Load() && p.closedAt[i].Load() == 0 {
				p.closedAt[i].Store(time.Now().UnixNano())
				p.kind[i].Store(int32(closedErr))
			}
		}
		slot++
		if slot == slots {
			slot, pass = 0, pass+1
		}
	}
}

// drainAll drains every connection (pools without watchers), so that open
// counts closes the broker made since the last pass.
func (p *pool) drainAll() {
	for i := range p.conns {
		p.drain(i)
	}
}
