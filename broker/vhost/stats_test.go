package vhost

import (
	"sync"
	"testing"
)

// A session's counts stay in Stats when the session closes, when its
// connection closes, and while Stats runs concurrently with both; the
// publisher gauge counts open sessions that published.
func TestStatsSurviveCloses(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	e.publish("", "q", "a")
	e.publish("", "nowhere", "b")
	s2, _ := e.session(e.conn)
	if _, err := s2.Get("q", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Get("q", true); err != nil {
		t.Fatal(err)
	}
	want := MessageStats{Received: 2, Routed: 1, UnroutableDropped: 1}
	want.ByQueueType[ClassicQueue] = QueueMessageStats{DeliveredGetAutoAck: 1, GetEmpty: 1}
	if got := e.v.Stats().Messages; got.Received != 0 || got.ByQueueType != want.ByQueueType {
		t.Fatalf("before FlushCounts: %+v, want the deliveries only", got)
	}
	e.s.FlushCounts()
	s2.FlushCounts()
	check := func(when string, publishers int) {
		t.Helper()
		st := e.v.Stats()
		if st.Messages != want || st.Publishers != publishers || st.QueuesDeclared != 1 || st.QueuesCreated != 1 {
			t.Fatalf("%s: %+v, want messages %+v and %d publishers", when, st, want, publishers)
		}
	}
	check("open", 1)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if got := e.v.Stats().Messages; got != want {
				t.Errorf("while closing: %+v", got)
				return
			}
		}
	})
	s2.Close()
	e.s.Close()
	e.conn.Close()
	close(stop)
	wg.Wait()
	check("closed", 0)

	c := e.v.Connect()
	s, _ := e.session(c)
	c.Close()
	if _, err := s.Publish("", "q", false, msg(t, "late")); err != nil {
		t.Fatal(err)
	}
	check("a closed session counts nothing", 0)
	born, _ := e.session(c)
	if _, err := born.Publish("", "q", false, msg(t, "later")); err != nil {
		t.Fatal(err)
	}
	check("a session born closed counts nothing", 0)
}
