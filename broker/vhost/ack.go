package vhost

import "github.com/beatmq/beatmq/amqp"

// Ack handles basic.ack: tag 0 with multiple acks everything outstanding.
// An unknown tag is 406 "PRECONDITION_FAILED - unknown delivery tag N".
func (s *Session) Ack(tag uint64, multiple bool) error {
	return s.settle(tag, multiple, settleAck)
}

// Nack handles basic.nack: requeued messages go back to their original
// place in their queue, marked redelivered; the others are dead-lettered
// (reason rejected) when the queue has a dead-letter exchange, else
// dropped.
func (s *Session) Nack(tag uint64, multiple, requeue bool) error {
	if requeue {
		return s.settle(tag, multiple, settleRequeue)
	}
	return s.settle(tag, multiple, settleDiscard)
}

// Reject handles basic.reject, which is a nack of one message.
func (s *Session) Reject(tag uint64, requeue bool) error {
	return s.Nack(tag, false, requeue)
}

type settleKind uint8

const (
	settleAck settleKind = iota
	settleRequeue
	settleDiscard
)

func (s *Session) settle(tag uint64, multiple bool, kind settleKind) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	recs, found := s.unacked.take(s.ackBuf[:0], tag, multiple)
	if !found {
		s.mu.Unlock()
		return precondition("unknown delivery tag %d", tag)
	}
	if s.tx != nil {
		s.mu.Unlock()
		s.tx.acks = append(s.tx.acks, txAck{kind: kind, recs: append([]unackedRec(nil), recs...)})
		return nil
	}
	if kind == settleAck {
		s.countAcked(recs)
	}
	kicks := s.release(recs)
	s.mu.Unlock()
	s.apply(recs, kind)
	clear(recs)
	s.ackBuf = recs[:0]
	s.kick(kicks)
	return nil
}

// release drops settled consumer deliveries from the global prefetch count
// and returns the consumers to wake. s.mu held.
func (s *Session) release(recs []unackedRec) []*consumer {
	for i := range recs {
		if recs[i].c != nil {
			s.globalUnacked--
		}
	}
	return s.takeKicks()
}

// apply settles recs with their queues, one lock per run of records of the
// same queue. No lock held.
func (s *Session) apply(recs []unackedRec, kind settleKind) {
	if kind == settleRequeue {
		s.requeueAll(recs, true)
		return
	}
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].q == recs[i].q {
			j++
		}
		recs[i].q.settle(recs[i:j], kind == settleDiscard)
		i = j
	}
}

// settle completes acked (or discarded) deliveries of q. No lock held.
func (q *Queue) settle(recs []unackedRec, discard bool) {
	q.mu.Lock()
	q.goneAll(recs)
	for i := range recs {
		q.unacked--
		q.unackedBytes -= recs[i].e.msg.bodySize()
		if c := recs[i].c; c != nil {
			c.unacked--
			if !c.full() {
				q.wake(c)
			}
		}
		if discard && !q.deleted {
			q.deadLetter(recs[i].e.msg, reasonRejected)
		}
	}
	if !q.deleted {
		q.run()
	}
	q.unlock()
}

// requeue puts deliveries back in q at their original places, marked
// redelivered (rabbit_amqqueue_process:requeue_and_run/2); a quorum queue
// counts them first (returnQuorum). byClient says the client asked for it
// (nack, reject, recover) rather than its channel going. No lock held.
func (q *Queue) requeue(recs []unackedRec, byClient bool) {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return
	}
	q.unacked -= len(recs)
	for i := range recs {
		q.unackedBytes -= recs[i].e.msg.bodySize()
		if c := recs[i].c; c != nil {
			c.unacked--
			if !c.full() {
				q.wake(c)
			}
		}
	}
	if q.cfg.quorum {
		recs = q.returnQuorum(recs, byClient)
	}
	if len(recs) > 0 {
		sorted := true
		for i := range recs {
			recs[i].e.redelivered = true
			if i > 0 && recs[i].e.seq < recs[i-1].e.seq {
				sorted = false
			}
		}
		if !sorted {
			sortRecsBySeq(recs)
		}
		q.requeueReady(recs)
	}
	q.dropOverLimit()
	q.run()
	q.unlock()
}

// Recover handles basic.recover (and recover-async) with requeue=true:
// every unacknowledged delivery goes back to its queue, redelivered.
// requeue=false is 540 NOT_IMPLEMENTED, as in RabbitMQ.
func (s *Session) Recover(requeue bool) error {
	if !requeue {
		return amqp.NewError(amqp.NotImplemented, "requeue=false")
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	recs := s.unacked.takeAll(s.ackBuf[:0])
	kicks := s.release(recs)
	s.mu.Unlock()
	s.requeueAll(recs, true)
	clear(recs)
	s.ackBuf = recs[:0]
	s.kick(kicks)
	return nil
}

// requeueAll requeues recs, each queue's share in one go; byClient as for
// Queue.requeue. No lock held.
func (s *Session) requeueAll(recs []unackedRec, byClient bool) {
	if len(recs) == 0 {
		return
	}
	// Group by queue, keeping tag order within each.
	byQueue := make(map[*Queue][]unackedRec)
	var order []*Queue
	for _, r := range recs {
		if _, ok := byQueue[r.q]; !ok {
			order = append(order, r.q)
		}
		byQueue[r.q] = append(byQueue[r.q], r)
	}
	for _, q := range order {
		q.requeue(byQueue[q], byClient)
	}
}
