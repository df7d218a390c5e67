package engine

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames"
)

// errChannelClosed is returned by the send methods of a channel that no
// longer accepts frames: the broker sent channel.close, or close-ok for the
// client's close, or the connection is closing. Nothing was written.
var errChannelClosed = errors.New("beatmq: channel closed")

// outbox decides when the connection's frames.Writer is flushed.
//
// Every writer brackets its writes with hold/release, and release flushes
// when it drops the count of holders to zero: the last one out flushes what
// the others buffered. The reader goroutine holds the outbox from the moment
// a read returns data until it is about to block on the socket again
// (inbound.Read), so replies to a pipelined batch of requests share one
// write(2) while the reply to a lone request is flushed as soon as it is
// written. The send queue's drainer holds it for one batch of queued items.
// A lone frame is therefore never delayed, and frames produced together go
// out together.
type outbox struct {
	w    *frames.Writer
	busy atomic.Int32
}

func (o *outbox) hold() { o.busy.Add(1) }

func (o *outbox) release() error {
	if o.busy.Add(-1) == 0 {
		return o.w.Flush()
	}
	return nil
}

// sendKind says what a sendItem writes.
type sendKind uint8

const (
	sendMethod  sendKind = iota // m
	sendContent                 // m with props and body
	sendDeliver                 // the inline basic.deliver with props and body
	sendClose                   // m as the channel's last frame: stop sending on it first
	sendBarrier                 // nothing: close done once everything before it is written
)

// sendItem is one entry of the send queue.
type sendItem struct {
	ch          *channel // nil: channel 0
	kind        sendKind
	counted     bool // queued by messaging: reported through messagingSent
	m           amqp.Method
	deliver     amqp.BasicDeliver // stored inline: no allocation per delivery
	props, body []byte
	done        chan struct{} // sendBarrier
}

// sendQueue orders every frame the connection sends except heartbeats
// (which go straight to the frames.Writer: they may come between any two
// frames). Exactly one goroutine at a time holds the right to write (busy):
// a caller that finds the queue idle writes directly; otherwise it appends
// and whoever holds the right writes the item in turn. Callers that must not
// block (queue goroutines delivering messages) never write themselves: they
// append and, if nobody is writing, start a drainer goroutine that writes
// until the queue is empty and then exits. An idle connection therefore has
// no writer goroutine, and frames on one channel leave in the order they
// were sent, replies and deliveries alike, as RabbitMQ's per-channel writer
// guarantees.
type sendQueue struct {
	mu     sync.Mutex
	items  []sendItem
	spare  []sendItem
	busy   bool // someone holds the right to write
	closed bool // the connection is gone: drop everything
	wg     sync.WaitGroup
}

// maxKeptQueue bounds the queue capacity an idle connection keeps;
// maxBusyQueue the spare capacity kept between batches under load.
const (
	maxKeptQueue = 4
	maxBusyQueue = 4096
)

// send writes it in order, directly when nobody else is writing (the caller
// may then block on the socket), else behind what is queued.
func (c *Conn) send(it sendItem) error {
	q := &c.sq
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return errChannelClosed
	case q.busy:
		q.items = append(reuseBuf(q.items), it)
		q.mu.Unlock()
		return nil
	}
	q.busy = true
	q.mu.Unlock()
	c.out.hold()
	err := c.write(it.ch, it.kind, it.m, it.props, it.body)
	c.handOver()
	if rerr := c.out.release(); err == nil {
		err = rerr
	}
	return err
}

// enqueue appends it without ever blocking on the socket, starting a drainer
// if nobody is writing.
func (c *Conn) enqueue(it sendItem) {
	q := &c.sq
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(reuseBuf(q.items), it)
	if q.busy {
		q.mu.Unlock()
		return
	}
	q.busy = true
	q.wg.Add(1)
	q.mu.Unlock()
	go c.drain()
}

// handOver gives up the right to write after a direct write: if items were
// queued meanwhile, a drainer takes over.
func (c *Conn) handOver() {
	q := &c.sq
	q.mu.Lock()
	if len(q.items) == 0 || q.closed {
		q.busy = false
		q.mu.Unlock()
		return
	}
	q.wg.Add(1)
	q.mu.Unlock()
	go c.drain()
}

// drain writes queued items batch by batch until the queue is empty. It runs
// on its own goroutine and holds the right to write.
func (c *Conn) drain() {
	q := &c.sq
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(q.items) == 0 || q.closed {
			q.busy = false
			q.items = trimQueue(q.items)
			q.spare = trimQueue(q.spare)
			q.mu.Unlock()
			return
		}
		batch := q.items
		q.items = q.spare[:0]
		q.spare = nil
		q.mu.Unlock()

		c.out.hold()
		var run *channel
		n := 0
		for i := range batch {
			_ = c.writeItem(&batch[i]) // a socket error is sticky; the reader sees it
			if batch[i].counted {
				if ch := batch[i].ch; ch != run {
					if n > 0 {
						run.messagingSent(n)
					}
					run, n = ch, 0
				}
				n++
			}
		}
		_ = c.out.release()
		if n > 0 {
			run.messagingSent(n)
		}
		clear(batch)
		q.mu.Lock()
		if cap(batch) <= maxBusyQueue {
			q.spare = batch[:0]
		}
		q.mu.Unlock()
	}
}

// flushQueued waits, at most d, until everything queued for sending before
// it has been written: RabbitMQ's channels answer the methods they have
// already received, and its writer sends those replies, before the
// connection's close-ok. Reader goroutine only (so the queue is either
// idle or being drained by a drainer goroutine).
func (c *Conn) flushQueued(d time.Duration) {
	q := &c.sq
	q.mu.Lock()
	if q.closed || !q.busy {
		q.mu.Unlock()
		return
	}
	done := make(chan struct{})
	q.items = append(reuseBuf(q.items), sendItem{kind: sendBarrier, done: done})
	q.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C: // the client does not read: its close goes on without them
	}
}

// trimQueue shrinks a buffer of an emptied queue: a small one is kept, a
// larger one goes back to itemBufs for whichever connection gets busy next.
func trimQueue(s []sendItem) []sendItem {
	if cap(s) <= maxKeptQueue {
		return s[:0]
	}
	if cap(s) <= maxBusyQueue {
		s = s[:cap(s)]
		clear(s)
		s = s[:0]
		itemBufs.Put(&s)
	}
	return nil
}

// itemBufs recycles send-queue buffers between connections (*[]sendItem, of
// length 0): a connection that goes idle holds no buffer, and one that is
// busy again does not regrow its buffer from nothing each time.
var itemBufs sync.Pool

// reuseBuf returns s, or a recycled buffer when s has no room at all.
func reuseBuf(s []sendItem) []sendItem {
	if cap(s) > 0 {
		return s
	}
	if p, ok := itemBufs.Get().(*[]sendItem); ok {
		return *p
	}
	return s
}

// closeSendQueue drops whatever is queued and refuses new items, then waits
// for a running drainer. Reader goroutine, at teardown, after the socket is
// closed (so a blocked write fails at once).
func (c *Conn) closeSendQueue() {
	q := &c.sq
	q.mu.Lock()
	q.closed = true
	dropped := q.items
	q.items = nil
	q.mu.Unlock()
	q.wg.Wait()
	for i := range dropped {
		if dropped[i].counted {
			dropped[i].ch.messagingSent(1)
		}
	}
}

// writeItem puts one queued item on the frames.Writer; the caller holds the
// right to write and the outbox.
func (c *Conn) writeItem(it *sendItem) error {
	if it.kind == sendBarrier {
		close(it.done)
		return nil
	}
	m := it.m
	if it.kind == sendDeliver {
		m = &it.deliver
	}
	return c.write(it.ch, it.kind, m, it.props, it.body)
}

// write puts one frame or message on the frames.Writer, unless the channel
// has stopped sending.
func (c *Conn) write(ch *channel, kind sendKind, m amqp.Method, props, body []byte) error {
	var id uint16
	var frameMax uint32
	if ch != nil {
		id, frameMax = ch.id, ch.frameMax
		if kind == sendClose {
			ch.sendClosed.Store(true)
		} else if ch.sendClosed.Load() {
			return errChannelClosed
		}
	}
	if kind == sendContent || kind == sendDeliver {
		return writeContent(c.out.w, id, frameMax, m, props, body)
	}
	return writeMethod(c.out.w, id, m)
}

// scratch buffers for encoding method and content header payloads; the
// Writer copies what it is given, so a buffer goes back to the pool at once.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func putScratch(b *[]byte) {
	if cap(*b) > 64<<10 {
		return
	}
	*b = (*b)[:0]
	scratchPool.Put(b)
}

// writeMethod buffers one method frame.
func writeMethod(w *frames.Writer, ch uint16, m amqp.Method) error {
	sp := scratchPool.Get().(*[]byte)
	*sp = amqp.AppendMethod((*sp)[:0], m)
	err := w.WriteFrame(frames.TypeMethod, ch, *sp)
	putScratch(sp)
	return err
}

// writeContent buffers a content-bearing method, its content header and its
// body split into frames of at most frameMax-8 octets, contiguously: no other
// frame, not even a heartbeat, can land between them.
func writeContent(w *frames.Writer, ch uint16, frameMax uint32, m amqp.Method, props, body []byte) error {
	sp := scratchPool.Get().(*[]byte)
	buf := amqp.AppendMethod((*sp)[:0], m)
	nm := len(buf)
	buf = amqp.AppendContentHeader(buf, m.ClassID(), uint64(len(body)), props)
	*sp = buf

	chunk := len(body)
	if frameMax > 0 && uint64(chunk) > uint64(frameMax)-frames.FrameSizeFudge {
		chunk = int(frameMax - frames.FrameSizeFudge)
	}
	nb := 0
	if len(body) > 0 {
		nb = (len(body) + chunk - 1) / chunk
	}
	var small [8]frames.Frame
	fs := small[:0]
	if 2+nb > len(small) {
		fs = make([]frames.Frame, 0, 2+nb)
	}
	fs = append(fs,
		frames.Frame{Type: frames.TypeMethod, Channel: ch, Payload: buf[:nm]},
		frames.Frame{Type: frames.TypeHeader, Channel: ch, Payload: buf[nm:]})
	for off := 0; off < len(body); off += chunk {
		fs = append(fs, frames.Frame{Type: frames.TypeBody, Channel: ch, Payload: body[off:min(off+chunk, len(body))]})
	}
	err := w.WriteFrames(fs...)
	putScratch(sp)
	return err
}
