package engine

import "github.com/beatmq/beatmq/amqp"

// confirmTxMethod handles confirm.select and the tx class (90).
func (ch *channel) confirmTxMethod(m amqp.Method) error {
	s := ch.session()
	switch m := m.(type) {
	case *amqp.ConfirmSelect:
		if err := s.ConfirmSelect(); err != nil {
			return err
		}
		ch.msg.confirm = true
		return ch.reply(nil, m.NoWait, &amqp.ConfirmSelectOk{})
	case *amqp.TxSelect:
		return ch.reply(s.TxSelect(), false, &amqp.TxSelectOk{})
	case *amqp.TxCommit:
		ch.counting()
		done, write := ch.nextWrite()
		returns, pending, err := s.TxCommit(done)
		if err != nil {
			return err
		}
		// The mandatory messages no queue took come back before commit-ok.
		for _, msg := range returns {
			if err := ch.sendReturn(msg); err != nil {
				return err
			}
		}
		if pending || ch.waiting() {
			// commit-ok once the committed messages are on disk.
			w := durableWait{commit: true}
			if pending {
				w.need = write
			}
			ch.waitFor(w)
			return nil
		}
		return ch.sendMethod(&amqp.TxCommitOk{})
	case *amqp.TxRollback:
		return ch.reply(s.TxRollback(), false, &amqp.TxRollbackOk{})
	}
	return amqp.NewError(amqp.CommandInvalid, "unimplemented method")
}

// confirmed records that publish tag is confirmed. Confirms are not written
// one by one: consecutive tags collect into a run that goes out as one
// basic.ack (multiple=true when it covers more than one tag) when the reader
// has read everything the client sent, as RabbitMQ coalesces confirms
// (rabbit_channel:send_confirms_and_nacks/1).
func (ch *channel) confirmed(tag uint64) {
	if ch.msg.confirmFirst == 0 {
		ch.msg.confirmFirst = tag
	}
	ch.msg.confirmLast = tag
	ch.markDirty()
}

// flushConfirms sends the pending run of confirms, if any. Every earlier tag
// has been acked or nacked already, so multiple=true acks exactly the run.
func (ch *channel) flushConfirms() {
	first, last := ch.msg.confirmFirst, ch.msg.confirmLast
	if first == 0 {
		return
	}
	ch.msg.confirmFirst, ch.msg.confirmLast = 0, 0
	ch.unconfirmed.Add(-int64(last - first + 1))
	// A write error is sticky; the reader sees it on its next read. A
	// closed channel drops the ack, as RabbitMQ's dead channel does.
	if ch.sendMethod(&amqp.BasicAck{DeliveryTag: last, Multiple: last > first}) == nil && ch.msg.sess != nil {
		ch.msg.sess.Confirmed(int(last - first + 1)) // rabbit_channel:send_confirms_and_nacks/1
	}
}
