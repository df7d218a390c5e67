package vhost

import "slices"

// txState is a session's open transaction: publishes (already routed) and
// settlements held until commit.
type txState struct {
	pubs []txPublish
	acks []txAck
}

type txPublish struct {
	msg       *Message
	qs        []*Queue
	mandatory bool
}

type txAck struct {
	kind settleKind
	recs []unackedRec
}

// TxSelect handles tx.select; on a session in confirm mode it is 406
// "cannot switch from confirm to tx mode".
func (s *Session) TxSelect() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.confirm {
		return precondition("cannot switch from confirm to tx mode")
	}
	if s.tx == nil {
		s.tx = &txState{}
	}
	return nil
}

// ConfirmSelect handles confirm.select; on a transactional session it is
// 406 "cannot switch from tx to confirm mode". The model confirms nothing
// itself: Publish has delivered when it returns, so the channel acks then.
func (s *Session) ConfirmSelect() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.tx != nil {
		return precondition("cannot switch from tx to confirm mode")
	}
	s.confirm = true
	return nil
}

// TxCommit handles tx.commit: the held publishes are delivered in order,
// then the held acks, nacks and rejects applied, and a new transaction
// begins. It returns the mandatory messages no queue took, for the channel
// to send as basic.return 312 NO_ROUTE before tx.commit-ok. Without
// tx.select it is 406 "channel is not transactional".
//
// Persistent messages for durable queues are written to the store; when
// any were, done (if not nil) is called once they are durable and pending
// is true: commit-ok must wait for it.
func (s *Session) TxCommit(done func(error)) (returns []*Message, pending bool, err error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.tx == nil {
		return nil, false, precondition("channel is not transactional")
	}
	tx := s.tx
	s.tx = &txState{}
	// Only the last stored message waits: the store completes writes in
	// order, and an error stops it for every later write too.
	last := -1
	for i, p := range tx.pubs {
		if p.msg.persistent && s.v.opts.Store != nil && slices.ContainsFunc(p.qs, func(q *Queue) bool { return q.sqid != 0 }) {
			last = i
		}
	}
	for i, p := range tx.pubs {
		s.countRouted(len(p.qs), p.mandatory)
		if len(p.qs) == 0 {
			if p.mandatory {
				returns = append(returns, p.msg)
			}
			continue
		}
		var wait func(error)
		if i == last {
			wait = done
		}
		sid, waiting, err := s.v.persist(p.msg, p.qs, wait)
		if err != nil {
			return nil, false, err
		}
		pending = pending || waiting
		for _, q := range p.qs {
			q.publish(p.msg, sid)
		}
	}
	for _, a := range tx.acks {
		s.mu.Lock()
		if a.kind == settleAck {
			s.countAcked(a.recs)
		}
		kicks := s.release(a.recs)
		s.mu.Unlock()
		s.apply(a.recs, a.kind)
		s.kick(kicks)
	}
	return returns, pending, nil
}

// TxRollback handles tx.rollback: held publishes are dropped and held
// settlements undone (those deliveries are unacknowledged again). Without
// tx.select it is 406 "channel is not transactional".
func (s *Session) TxRollback() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.tx == nil {
		return precondition("channel is not transactional")
	}
	var recs []unackedRec
	for _, a := range s.tx.acks {
		recs = append(recs, a.recs...)
	}
	s.tx = &txState{}
	if len(recs) > 0 {
		s.mu.Lock()
		s.unacked.restore(recs)
		s.mu.Unlock()
	}
	return nil
}
