package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBroker speaks just enough AMQP for the raw clients' handshake, then reads
// and counts heartbeat frames; with silence > 0 it closes a connection that
// sent nothing for that long. Messages go to the queue's consumer when it has
// one, are counted as stored otherwise; a consumer's unacked deliveries are
// stored again when it closes, and basic.consume delivers what is stored.
type fakeBroker struct {
	ln         net.Listener
	silence    time.Duration
	heartbeats atomic.Int64
	tuneOkHB   atomic.Int64 // heartbeat of the last tune-ok
	vhost      atomic.Value
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      []net.Conn
	consumers  map[string]*fakeConn // guarded by mu
	stored     map[string]int       // messages routed to a queue with no consumer; guarded by mu
	acks       atomic.Int64
	// blockAfter > 0: after routing that many messages from one connection,
	// send it connection.blocked and stop reading it (a resource alarm).
	blockAfter int64
	// hide is subtracted from every queue length the fake reports (a broker
	// that lost messages).
	hide atomic.Int64
	// heartbeatEvery > 0: send a heartbeat frame that often on every
	// connection once it is open.
	heartbeatEvery time.Duration
	quit           chan struct{}
}

func startFake(t *testing.T, silence time.Duration) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{ln: ln, silence: silence, quit: make(chan struct{})}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(func() {
		ln.Close()
		close(b.quit)
		b.mu.Lock()
		for _, c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

func (b *fakeBroker) endpoint() endpoint {
	return endpoint{Addr: b.ln.Addr().String(), User: "guest", Pass: "guest", Vhost: "/", Loopback: true}
}

func (b *fakeBroker) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		b.wg.Add(1)
		go b.serve(c)
	}
}

func (b *fakeBroker) serve(c net.Conn) {
	defer b.wg.Done()
	defer c.Close()
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	start := appendMethod(nil, 0, 10, 10, func(p []byte) []byte {
		p = append(p, 0, 9)
		p = appendU32(p, 0)
		p = appendLongStr(p, "PLAIN AMQPLAIN")
		return appendLongStr(p, "en_US")
	})
	if _, err := c.Write(start); err != nil {
		return
	}
	fr := newFrameReader(c, 4096)
	if _, err := fr.expect(methodID(10, 11), "start-ok"); err != nil {
		return
	}
	tune := appendMethod(nil, 0, 10, 30, func(p []byte) []byte {
		p = appendU16(p, 2047)
		p = appendU32(p, 131072)
		return appendU16(p, 60)
	})
	if _, err := c.Write(tune); err != nil {
		return
	}
	r, err := fr.expect(methodID(10, 31), "tune-ok")
	if err != nil {
		return
	}
	tp, _ := parseTune(r)
	b.tuneOkHB.Store(int64(tp.Heartbeat))
	if r, err = fr.expect(methodID(10, 40), "open"); err != nil {
		return
	}
	b.vhost.Store(r.shortStr())
	if _, err := c.Write(appendMethod(nil, 0, 10, 41, func(p []byte) []byte { return appendShortStr(p, "") })); err != nil {
		return
	}
	fc := &fakeConn{w: &lockedWriter{w: c}}
	defer b.dropConsumer(fc)
	if b.heartbeatEvery > 0 {
		ended := make(chan struct{})
		defer close(ended)
		go func() {
			t := time.NewTicker(b.heartbeatEvery)
			defer t.Stop()
			for {
				select {
				case <-ended:
					return
				case <-t.C:
					if _, err := fc.w.Write(heartbeatFrame); err != nil {
						return
					}
				}
			}
		}()
	}
	for {
		if b.silence > 0 {
			_ = c.SetReadDeadline(time.Now().Add(b.silence))
		}
		typ, _, payload, err := fr.read()
		if err != nil {
			return // a deadline means silence: close
		}
		switch typ {
		case frameHeartbeat:
			b.heartbeats.Add(1)
		case frameMethod, frameHeader, frameBody:
			if !b.handle(fc, typ, payload) {
				return
			}
		}
	}
}

// fakeConn is the messaging state of one fake-broker connection.
type fakeConn struct {
	w        *lockedWriter
	confirms bool
	pubTag   uint64
	delTag   uint64
	rk       string
	body     []byte
	left     uint64
	routed   int64
	// A consumer's queue (empty: none) and no-ack mode; unacked is guarded
	// by fakeBroker.mu.
	queue   string
	noAck   bool
	unacked int64
}

// dropConsumer stores a closing consumer's unacked deliveries again.
func (b *fakeBroker) dropConsumer(fc *fakeConn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if fc.queue == "" || b.consumers[fc.queue] != fc {
		return
	}
	delete(b.consumers, fc.queue)
	b.storeLocked(fc.queue, fc.unacked)
	fc.unacked = 0
}

func (b *fakeBroker) storeLocked(q string, n int64) {
	if b.stored == nil {
		b.stored = map[string]int{}
	}
	b.stored[q] += int(n)
}

// deliverLocked writes one delivery of body to the consumer fc.
func (b *fakeBroker) deliverLocked(to *fakeConn, rk string, body []byte) {
	to.delTag++
	if !to.noAck {
		to.unacked++
	}
	msg := appendMethod(nil, 1, 60, 60, func(p []byte) []byte {
		p = appendShortStr(p, "ctag")
		p = appendU64(p, to.delTag)
		p = append(p, 0)
		p = appendShortStr(p, "")
		return appendShortStr(p, rk)
	})
	pub := appendPublish(nil, 1, rk, body, 131072)
	skip := len(appendPublish(nil, 1, rk, nil, 131072)) - 22 // the publish method frame
	msg = append(msg, pub[skip:]...)
	_, _ = to.w.Write(msg)
}

func (b *fakeBroker) reply(fc *fakeConn, class, method uint16, args func([]byte) []byte) bool {
	_, err := fc.w.Write(appendMethod(nil, 1, class, method, args))
	return err == nil
}

// handle answers the methods the raw clients send and routes each published
// message to the consumer of its routing key (one consumer per queue).
func (b *fakeBroker) handle(fc *fakeConn, typ uint8, payload []byte) bool {
	switch typ {
	case frameHeader:
		fc.left, _ = contentBodySize(payload)
		fc.body = fc.body[:0]
		if fc.left == 0 {
			return b.route(fc)
		}
		return true
	case frameBody:
		fc.body = append(fc.body, payload...)
		fc.left -= uint64(len(payload))
		if fc.left == 0 {
			return b.route(fc)
		}
		return true
	}
	id, r, err := methodOf(payload)
	if err != nil {
		return false
	}
	switch id {
	case methodID(20, 10):
		return b.reply(fc, 20, 11, func(p []byte) []byte { return appendLongStr(p, "") })
	case methodID(85, 10):
		fc.confirms = true
		return b.reply(fc, 85, 11, nil)
	case methodID(50, 10):
		r.u16()
		q := r.shortStr()
		b.mu.Lock()
		n := max(0, int64(b.stored[q])-b.hide.Load())
		b.mu.Unlock()
		return b.reply(fc, 50, 11, func(p []byte) []byte { return appendU32(appendU32(appendShortStr(p, q), uint32(n)), 0) })
	case methodID(60, 70):
		r.u16()
		q := r.shortStr()
		b.mu.Lock()
		n := b.stored[q]
		if n > 0 {
			b.stored[q]--
		}
		b.mu.Unlock()
		if n == 0 {
			return b.reply(fc, 60, 72, func(p []byte) []byte { return appendShortStr(p, "") })
		}
		return b.reply(fc, 60, 71, func(p []byte) []byte {
			p = appendU64(p, 1)
			p = append(p, 0)
			p = appendShortStr(p, "")
			p = appendShortStr(p, q)
			return appendU32(p, uint32(n-1))
		})
	case methodID(50, 40):
		return b.reply(fc, 50, 41, func(p []byte) []byte { return appendU32(p, 0) })
	case methodID(60, 10):
		return b.reply(fc, 60, 11, nil)
	case methodID(60, 20):
		r.u16()
		q := r.shortStr()
		r.skipShortStr() // consumer tag
		bits := r.u8()
		if !b.reply(fc, 60, 21, func(p []byte) []byte { return appendShortStr(p, "ctag") }) {
			return false
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.consumers == nil {
			b.consumers = map[string]*fakeConn{}
		}
		b.consumers[q] = fc
		fc.queue, fc.noAck = q, bits&2 != 0
		for range b.stored[q] {
			b.deliverLocked(fc, q, make([]byte, minBody))
		}
		delete(b.stored, q)
		return true
	case methodID(60, 40):
		r.u16()
		r.skipShortStr()
		fc.rk = r.shortStr()
		return true
	case methodID(60, 80):
		b.acks.Add(1)
		b.mu.Lock()
		fc.unacked--
		b.mu.Unlock()
		return true
	case idConnectionClose:
		b.dropConsumer(fc) // before close-ok, as RabbitMQ requeues before it
		_, _ = fc.w.Write(appendConnectionCloseOk(nil))
		return false
	}
	return true
}

func (b *fakeBroker) route(fc *fakeConn) bool {
	b.mu.Lock()
	if to := b.consumers[fc.rk]; to != nil {
		b.deliverLocked(to, fc.rk, fc.body) // under mu, so a closing consumer cannot miss it
	} else {
		b.storeLocked(fc.rk, 1)
	}
	b.mu.Unlock()
	if fc.confirms {
		fc.pubTag++
		if _, err := fc.w.Write(appendBasicAck(nil, 1, fc.pubTag, false)); err != nil {
			return false
		}
	}
	fc.routed++
	if b.blockAfter > 0 && fc.routed == b.blockAfter {
		_, _ = fc.w.Write(appendMethod(nil, 0, 10, 60, func(p []byte) []byte { return appendShortStr(p, "low on memory") }))
		<-b.quit // reads nothing more, as RabbitMQ while an alarm blocks a publisher
		return false
	}
	return true
}
