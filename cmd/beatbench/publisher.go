package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// publisher sends messages as fast as its gates allow, in batched writes.
type publisher struct {
	*rawClient
	confirms   bool
	persistent bool // delivery_mode 2 on every message
	tracker    confirmTracker
	// sent holds each tag's publish time (confirm mode); confirmHist the
	// latency from publish to confirm of the confirms received in the record
	// window, kept by the reading loop (read it after shutdown).
	sent        *sendTimes
	confirmHist histogram
	started     bool
	readDone    chan struct{}
	lastErr     error // the reading loop's error, set before readDone closes
	// blocks, when set, records connection.blocked and connection.unblocked.
	blocks *blockTracker
}

// dialPublisher opens a publishing connection (in confirm mode when confirms).
func dialPublisher(ctx context.Context, ep endpoint, heartbeat uint16, confirms bool) (*publisher, error) {
	c, err := dialClient(ctx, ep, heartbeat)
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	p := &publisher{rawClient: c, confirms: confirms, readDone: make(chan struct{})}
	if confirms {
		if err := c.call(appendConfirmSelect(nil, 1), idConfirmSelectOk, "confirm.select-ok"); err != nil {
			c.close()
			return nil, fmt.Errorf("publisher: %w", err)
		}
	}
	return p, nil
}

// publishTemplate returns the frames of one message and the offset of its body.
func publishTemplate(queue string, size int, frameMax uint32, deliveryMode uint8) ([]byte, int) {
	off := len(appendPublishMode(nil, 1, queue, nil, int(frameMax), deliveryMode)) + 7
	return appendPublishMode(nil, 1, queue, make([]byte, size), int(frameMax), deliveryMode), off
}

// deliveryMode is the delivery-mode property the publisher sets (0: none).
func (p *publisher) deliveryMode() uint8 {
	if p.persistent {
		return 2
	}
	return 0
}

// readLoop handles confirms and the broker's closes until the connection ends.
func (p *publisher) readLoop(st *flowStats, confirmWin *gate) {
	defer close(p.readDone)
	for {
		typ, _, payload, err := p.fr.read()
		if err != nil {
			p.lastErr = p.readErr(err)
			return
		}
		if typ != frameMethod {
			continue
		}
		id, r, err := methodOf(payload)
		if err != nil {
			p.lastErr = err
			return
		}
		switch id {
		case idBasicAck, idBasicNack:
			tag, multiple, err := parseAck(r)
			if err != nil {
				p.lastErr = err
				return
			}
			var each func(uint64)
			if now := nowNanos(); p.sent != nil && now >= st.recordFrom.Load() && now < st.recordTo.Load() {
				each = func(t uint64) { p.confirmHist.record(time.Duration(now - p.sent.get(t))) }
			}
			n := p.tracker.confirm(tag, multiple, each)
			if id == idBasicNack {
				st.nacked.Add(n)
			}
			st.confirmed.Add(n)
			confirmWin.release(n)
		case idConnectionBlocked:
			p.blocks.set(true, parseBlocked(r))
		case idConnectionUnblocked:
			p.blocks.set(false, "")
		case idConnectionClose, idChannelClose:
			p.lastErr = parseClose(r)
			return
		}
	}
}

// abortWrite ends a write the broker does not read (flow control, an alarm)
// by a deadline; publish then returns without an error. The connection may
// hold a partial frame afterwards: it can still receive confirms, but must not
// be written to except to close it.
func (p *publisher) abortWrite() {
	p.stopping.Store(true)
	_ = p.h.Conn.SetWriteDeadline(time.Now())
}

// publish sends batches of messages to queue until stop is closed or the
// connection fails. backlog bounds published-but-not-consumed messages,
// confirmWin published-but-not-confirmed ones (used only in confirm mode).
func (p *publisher) publish(stop <-chan struct{}, queue string, size, batch int, backlog, confirmWin *gate, st *flowStats) error {
	p.started = true
	if p.confirms && p.sent == nil {
		bound := 0
		if confirmWin.limit > 0 {
			bound = int(confirmWin.limit) + batch
		}
		p.sent = newSendTimes(bound)
	}
	go p.readLoop(st, confirmWin)
	tmpl, off := publishTemplate(queue, size, p.h.Tune.FrameMax, p.deliveryMode())
	buf := make([]byte, 0, batch*len(tmpl))
	var seq uint64
	for {
		select {
		case <-stop:
			return nil
		case <-p.readDone:
			if p.lastErr != nil {
				return fmt.Errorf("publisher: %w", p.lastErr)
			}
			return nil
		default:
		}
		k := backlog.acquire(int64(batch), stop)
		if k == 0 {
			return nil
		}
		if p.confirms {
			k2 := confirmWin.acquire(k, stop)
			backlog.release(k - k2)
			if k2 == 0 {
				return nil
			}
			k = k2
		}
		ts := uint64(nowNanos())
		buf = buf[:0]
		for range k {
			seq++
			at := len(buf) + off
			buf = append(buf, tmpl...)
			binary.BigEndian.PutUint64(buf[at:], ts)
			binary.BigEndian.PutUint64(buf[at+8:], seq)
			if p.sent != nil {
				p.sent.set(seq, int64(ts))
			}
		}
		st.attempted.Add(k)
		if _, err := p.w.Write(buf); err != nil {
			if p.stopping.Load() {
				return nil
			}
			return fmt.Errorf("publisher: %w", err)
		}
		st.published.Add(k)
	}
}

// shutdown closes the connection and waits for its reading loop.
func (p *publisher) shutdown() {
	p.close()
	if p.started {
		<-p.readDone
	}
}
