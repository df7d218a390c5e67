package vhost

import (
	"reflect"
	"testing"
)

// Info reports what the management API shows of a channel: prefetch as
// basic.qos set it, consumers, unacked deliveries, confirm and tx modes,
// the transaction's pending publishes and acks, and the counters.
func TestSessionInfo(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	for range 3 {
		e.publish("", "q", "m")
	}
	if err := e.s.Qos(0, 2, false); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Qos(0, 5, true); err != nil {
		t.Fatal(err)
	}
	tag := e.consume(e.s, "q", false)
	e.s.FlushCounts()
	in := e.s.Info()
	if in.PrefetchCount != 2 || in.GlobalPrefetchCount != 5 || in.Unacked != 2 || in.Confirm || in.Transactional {
		t.Fatalf("consuming session: %+v", in)
	}
	want := []ConsumerInfo{{Tag: tag, Queue: "q", AckRequired: true, Prefetch: 2}}
	if !reflect.DeepEqual(in.Consumers, want) {
		t.Fatalf("consumers %+v, want %+v", in.Consumers, want)
	}
	st := in.Stats.ByQueueType[ClassicQueue]
	if in.Stats.Received != 3 || st.DeliveredConsumeManualAck != 2 || st.Acknowledged != 0 {
		t.Fatalf("counters: %+v", in.Stats)
	}

	tx, _ := e.session(e.conn)
	if err := tx.TxSelect(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Publish("", "q", false, msg(t, "t")); err != nil {
		t.Fatal(err)
	}
	if in := tx.Info(); !in.Transactional || in.Uncommitted != 1 || in.AcksUncommitted != 0 || len(in.Consumers) != 0 {
		t.Fatalf("transactional session: %+v", in)
	}
	cf, _ := e.session(e.conn)
	if err := cf.ConfirmSelect(); err != nil {
		t.Fatal(err)
	}
	if in := cf.Info(); !in.Confirm || in.Transactional {
		t.Fatalf("confirm session: %+v", in)
	}
}
