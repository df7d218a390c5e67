package vhost

import "testing"

func TestTxErrors(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.s.TxCommit(nil)
	wantErr(t, err, 406, "PRECONDITION_FAILED - channel is not transactional")
	wantErr(t, e.s.TxRollback(), 406, "PRECONDITION_FAILED - channel is not transactional")
	noErr(t, e.s.ConfirmSelect())
	wantErr(t, e.s.TxSelect(), 406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode")
	s2, _ := e.session(e.conn)
	noErr(t, s2.TxSelect())
	noErr(t, s2.TxSelect())
	wantErr(t, s2.ConfirmSelect(), 406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")
}

func TestTxPublishAndAck(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	noErr(t, e.s.TxSelect())
	e.publish("", "q", "1")
	m := msg(t, "lost")
	if r, err := e.s.Publish("", "nowhere", true, m); err != nil || !r.Routed {
		t.Fatalf("tx publish %+v %v", r, err)
	}
	if e.ready("q") != 0 {
		t.Fatal("published before commit")
	}
	returns, _, err := e.s.TxCommit(nil)
	noErr(t, err)
	if len(returns) != 1 || returns[0] != m {
		t.Fatalf("returns %v", returns)
	}
	if e.ready("q") != 1 {
		t.Fatal("not published at commit")
	}
	e.publish("", "q", "2")
	noErr(t, e.s.TxRollback())
	if e.ready("q") != 1 {
		t.Fatal("rolled back publish delivered")
	}

	// Acks wait for commit; a rollback makes them unacked again.
	_, d := e.get(e.s, e.k, "q", false)
	noErr(t, e.s.Ack(d.DeliveryTag, false))
	wantErr(t, e.s.Ack(d.DeliveryTag, false), 406, "PRECONDITION_FAILED - unknown delivery tag 1")
	if info, _ := e.v.Queue("q"); info.MessagesUnacknowledged != 1 {
		t.Fatalf("ack applied before commit: %+v", info)
	}
	noErr(t, e.s.TxRollback())
	if e.s.Unacked() != 1 {
		t.Fatal("rollback did not restore the delivery")
	}
	noErr(t, e.s.Nack(d.DeliveryTag, false, true))
	_, _, err = e.s.TxCommit(nil)
	noErr(t, err)
	if info, _ := e.v.Queue("q"); info.MessagesUnacknowledged != 0 || info.MessagesReady != 1 {
		t.Fatalf("after commit %+v", info)
	}
}

func TestTxUncommittedAckRequeuedOnClose(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	publishN(e, "q", 2)
	s, k := e.session(e.conn)
	noErr(t, s.TxSelect())
	e.consume(s, "q", false)
	k.take()
	noErr(t, s.Ack(2, true))
	s.Close()
	if info, _ := e.v.Queue("q"); info.MessagesReady != 2 || info.MessagesUnacknowledged != 0 {
		t.Fatalf("after close with an uncommitted ack: %+v", info)
	}
}
