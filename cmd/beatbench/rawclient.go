package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// epoch is the reference of the timestamps written into message bodies (the
// publisher and the consumer run in this process, so a monotonic clock works).
var epoch = time.Now()

func nowNanos() int64 { return int64(time.Since(epoch)) }

// minBody is the smallest body: an 8-octet timestamp and an 8-octet sequence
// number.
const minBody = 16

// flowStats are the shared counters of one publisher/consumer pair.
type flowStats struct {
	// attempted counts messages handed to a write, published those whose
	// write returned (a write cut short by a deadline may have sent some).
	attempted atomic.Int64
	published atomic.Int64
	confirmed atomic.Int64
	nacked    atomic.Int64
	consumed  atomic.Int64
	// Latencies of messages consumed in [recordFrom, recordTo) (nanoseconds since
	// epoch) are recorded.
	recordFrom atomic.Int64
	recordTo   atomic.Int64
}

// rawClient is one raw AMQP connection with a single channel (1).
type rawClient struct {
	h        *handshake
	fr       *frameReader
	w        *lockedWriter
	stopHB   chan struct{}
	hbDone   chan struct{}
	stopping atomic.Bool
}

// dialClient opens a raw connection and channel 1, and starts a heartbeat sender
// when heartbeat > 0.
func dialClient(ctx context.Context, ep endpoint, heartbeat uint16) (*rawClient, error) {
	h, err := openRaw(ctx, ep, dialOptions{Heartbeat: heartbeat, KeepReader: true})
	if err != nil {
		return nil, err
	}
	c := &rawClient{h: h, fr: h.Reader, w: &lockedWriter{w: h.Conn}, stopHB: make(chan struct{}), hbDone: make(chan struct{})}
	if err := c.call(appendChannelOpen(nil, 1), idChannelOpenOk, "channel.open-ok"); err != nil {
		c.abort()
		return nil, err
	}
	go func() {
		defer close(c.hbDone)
		runHeartbeats(c.w, time.Duration(heartbeat)*time.Second/2, c.stopHB)
	}()
	return c, nil
}

// call writes a synchronous method and waits for its reply. Only before the
// client's reading goroutine starts.
func (c *rawClient) call(req []byte, want uint32, name string) error {
	if _, err := c.w.Write(req); err != nil {
		return err
	}
	_ = c.h.Conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer func() { _ = c.h.Conn.SetReadDeadline(time.Time{}) }()
	_, err := c.fr.expect(want, name)
	return err
}

// stopReading makes a blocked read return; the reading loop then ends without
// an error.
func (c *rawClient) stopReading() {
	c.stopping.Store(true)
	_ = c.h.Conn.SetReadDeadline(time.Now())
}

// close says connection.close (not waiting for close-ok) and closes the socket.
func (c *rawClient) close() {
	c.stopping.Store(true)
	// The deadline also ends a write blocked by the broker's flow control, which
	// would otherwise hold the writer's lock forever.
	_ = c.h.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	select {
	case <-c.stopHB:
	default:
		close(c.stopHB)
	}
	<-c.hbDone
	_, _ = c.w.Write(appendConnectionClose(nil, 200, "bye"))
	_ = c.h.Conn.Close()
}

// closeWait says connection.close and reads (discarding deliveries) until the
// broker's connection.close-ok or its own connection.close, at most timeout,
// then closes the socket. Once close-ok is in, the broker has processed every
// frame sent before the close, so unacked deliveries are back in their queues.
// Only after the client's reading goroutine has ended.
func (c *rawClient) closeWait(timeout time.Duration) error {
	c.stopping.Store(true)
	_ = c.h.Conn.SetWriteDeadline(time.Now().Add(timeout))
	select {
	case <-c.stopHB:
	default:
		close(c.stopHB)
	}
	<-c.hbDone
	defer c.h.Conn.Close()
	if _, err := c.w.Write(appendConnectionClose(nil, 200, "bye")); err != nil {
		return err
	}
	_ = c.h.Conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		typ, _, payload, err := c.fr.read()
		if err != nil {
			return fmt.Errorf("waiting for connection.close-ok: %w", err)
		}
		if typ != frameMethod {
			continue
		}
		id, r, err := methodOf(payload)
		if err != nil {
			return err
		}
		switch id {
		case idConnectionCloseOk:
			return nil
		case idConnectionClose:
			_, _ = c.w.Write(appendConnectionCloseOk(nil))
			return parseClose(r)
		}
	}
}

func (c *rawClient) abort() {
	_ = c.h.Conn.SetLinger(0)
	_ = c.h.Conn.Close()
}

// readErr turns a reading loop's error into the loop's result.
func (c *rawClient) readErr(err error) error {
	if c.stopping.Load() {
		return nil // the read was ended on purpose (deadline or close)
	}
	return err
}

// deleteQueue removes a benchmark queue over a fresh connection.
func deleteQueue(ctx context.Context, ep endpoint, queue string) error {
	c, err := dialClient(ctx, ep, 0)
	if err != nil {
		return err
	}
	defer c.close()
	return c.call(appendQueueDelete(nil, 1, queue), idQueueDeleteOk, "queue.delete-ok")
}

var queueSeq atomic.Int64

// benchQueue returns a fresh queue name.
func benchQueue(kind string) string {
	return fmt.Sprintf("beatbench-%s-%d-%d-%d", kind, os.Getpid(), time.Now().Unix()%100000, queueSeq.Add(1))
}

// errGroup collects the first error of several goroutines.
type errGroup struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (g *errGroup) goRun(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
		}
	}()
}

func (g *errGroup) wait() error {
	g.wg.Wait()
	return errors.Join(g.errs...)
}
