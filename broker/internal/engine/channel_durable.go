package engine

import (
	"sync/atomic"

	"github.com/beatmq/beatmq/amqp"
)

// Durable confirms. A persistent message routed to a durable queue is
// confirmed only once the store has made it durable, as RabbitMQ confirms
// it only after its message store has fsync'ed it (rabbit_msg_store's
// confirm-on-sync); a tx.commit-ok likewise waits for the messages the
// commit wrote. The store calls back from its writer goroutine, in the
// order of the writes; the callback records how far the channel's writes
// have got and interrupts the reader, which then sends, in tag order,
// every confirm whose write is done (channel.sendDurable). Confirms that
// need no write but follow one that does wait behind it, so that
// confirms stay in tag order and a multiple ack never covers a message
// still on its way to disk.

// durableWaits is a channel's confirms and commit-oks waiting for the
// store.
type durableWaits struct {
	waits []durableWait // in the order they were earned; reader goroutine only
	seq   uint64        // writes requested; reader goroutine only
	done  atomic.Uint64 // writes completed (the store's writer goroutine)
	// failed is the first write that failed (0: none); that write and
	// every later one were not made durable.
	failed atomic.Uint64
}

// durableWait is one reply waiting: a publisher confirm (ack or nack of
// tag), or a tx.commit-ok.
type durableWait struct {
	need   uint64 // the write it waits for; 0: none of its own
	tag    uint64
	nack   bool
	commit bool
}

// nextWrite returns the function the store calls when the channel's next
// write is durable, and that write's number, which becomes the channel's
// once the write is requested (noteWrite).
func (ch *channel) nextWrite() (func(error), uint64) {
	n := ch.msg.durable.seq + 1
	d := &ch.msg.durable
	c := ch.c
	return func(err error) {
		if err != nil {
			d.failed.CompareAndSwap(0, n)
		}
		d.done.Store(n)
		c.post(intrDurable)
		c.storeDone(err)
	}, n
}

// waitFor queues a reply behind the store. need is the write it waits for
// (0: only for the replies queued before it).
func (ch *channel) waitFor(w durableWait) {
	if w.need != 0 {
		ch.msg.durable.seq = w.need
	}
	ch.msg.durable.waits = append(ch.msg.durable.waits, w)
}

// waiting reports whether replies wait for the store: a new confirm or
// commit-ok must queue behind them.
func (ch *channel) waiting() bool { return len(ch.msg.durable.waits) > 0 }

// sendDurable sends the replies whose writes are done, in order: confirms
// collect into the channel's run (sent when the reader is about to block),
// a nack or a commit-ok goes out at once after the run before it. A write
// that failed is nacked; a commit whose writes failed closes the
// connection with 541, since its messages are not on disk. Reader
// goroutine only.
func (ch *channel) sendDurable() error {
	d := &ch.msg.durable
	done, failed := d.done.Load(), d.failed.Load()
	for len(d.waits) > 0 && d.waits[0].need <= done {
		w := d.waits[0]
		d.waits = d.waits[1:]
		lost := failed != 0 && w.need >= failed
		switch {
		case w.commit && lost:
			return amqp.NewError(amqp.InternalError, "message store failed; the transaction is not durable")
		case w.commit:
			ch.flushConfirms()
			if err := ch.sendMethod(&amqp.TxCommitOk{}); err != nil {
				return err
			}
		case w.nack || lost:
			ch.flushConfirms()
			ch.unconfirmed.Add(-1)
			if err := ch.sendMethod(&amqp.BasicNack{DeliveryTag: w.tag}); err != nil {
				return err
			}
		default:
			ch.confirmed(w.tag)
		}
	}
	if len(d.waits) == 0 {
		d.waits = nil
	}
	return nil
}

// releaseDurable handles intrDurable: every channel sends what its
// completed writes released. Reader goroutine only.
func (c *Conn) releaseDurable() error {
	for _, ch := range c.channels {
		if !ch.waiting() {
			continue
		}
		if err := c.channelResult(ch, ch.sendDurable()); err != nil {
			return err
		}
	}
	c.flushMessaging()
	return nil
}
