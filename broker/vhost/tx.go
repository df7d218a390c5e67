package vhost

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
func (s *Session) TxCommit() ([]*Message, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.tx == nil {
		return nil, precondition("channel is not transactional")
	}
	tx := s.tx
	s.tx = &txState{}
	var returns []*Message
	for _, p := range tx.pubs {
		if len(p.qs) == 0 {
			if p.mandatory {
				returns = append(returns, p.msg)
			}
			continue
		}
		for _, q := range p.qs {
			q.publish(p.msg)
		}
	}
	for _, a := range tx.acks {
		s.mu.Lock()
		kicks := s.release(a.recs)
		s.mu.Unlock()
		s.apply(a.recs, a.kind)
		s.kick(kicks)
	}
	return returns, nil
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
