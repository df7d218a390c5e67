package broker_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// persistentMessage returns the frames of one persistent basic.publish to
// the default exchange, routed to queue.
func persistentMessage(queue string, body []byte) [][]byte {
	props := amqp.AppendProperties(nil, &amqp.Properties{Flags: amqp.FlagDeliveryMode, DeliveryMode: 2})
	return [][]byte{
		brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.BasicPublish{RoutingKey: queue})),
		brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, amqp.ClassBasic, uint64(len(body)), props)),
		brokertest.FrameBytes(frames.TypeBody, 1, body),
	}
}

// Credit flow holds the reader of a publisher whose persistent messages
// wait for the disk: after the 400th message handed to the store it stops
// reading (the 401st stays in the socket), without connection.blocked.
// While held, its missed-heartbeat detection is paused however long it
// lasts and the broker's heartbeats keep coming every T/2; the management
// state is "flow". When the store catches up, credit comes back, the rest
// is read, and detection resumes with a fresh window: a still-silent
// client is dropped exactly 3T after (rabbit_reader's flow state,
// rabbit_heartbeat:pause_monitor/1, resume_monitor/1).
func TestSynctestFlowHoldsReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = 2
		disk := make(chan struct{}) // the disk stalls until closed
		cfg := broker.Config{DataDir: t.TempDir()}
		broker.SetBeforeStoreBatch(&cfg, func() { <-disk })
		srv, logs := newServer(t, cfg)
		r, done := pipeConn(t, srv)
		tune := r.Handshake("flow")
		r.Open(tune.ChannelMax, tune.FrameMax, T)
		r.SendMethod(1, &amqp.ChannelOpen{})
		brokertest.Expect[*amqp.ChannelOpenOk](r, time.Second)
		r.SendMethod(1, &amqp.QueueDeclare{Queue: "q", Durable: true})
		brokertest.Expect[*amqp.QueueDeclareOk](r, time.Second)
		got, end := drain(r)

		var frames400 [][]byte
		for i := 0; i < 400; i++ {
			frames400 = append(frames400, persistentMessage("q", []byte("m"))...)
		}
		sent := sendAsync(r, nil, frames400...)
		<-sent // every frame of the 400 was read
		held := time.Now()
		last := sendAsync(r, nil, persistentMessage("q", []byte("last"))...)
		time.Sleep(50 * T * time.Second) // far beyond 3T: still open, not read
		synctest.Wait()
		in := srv.Connections()
		if len(in) != 1 || in[0].State != broker.StateBlocked || !in[0].Flow {
			t.Fatalf("after 50T held: %+v", in)
		}
		if q := queueReady(t, srv, "q"); q != 400 {
			t.Fatalf("%d messages in the queue while held, want 400 (the 401st unread)", q)
		}
		select {
		case <-last:
			t.Fatal("the 401st message was read while credit was exhausted")
		default:
		}

		close(disk)
		synctest.Wait()
		resumed := time.Now()
		<-last
		if q := queueReady(t, srv, "q"); q != 401 {
			t.Fatalf("%d messages after the store caught up, want 401", q)
		}
		<-done
		e := <-end
		var beats []time.Duration
		for fa := range got {
			if fa.f.Type != frames.TypeHeartbeat {
				m, _ := amqp.ReadMethod(fa.f.Payload)
				t.Fatalf("frame %v at %v: the client gets no connection.blocked for flow", m, fa.at.Sub(held))
			}
			if fa.at.Before(resumed) {
				beats = append(beats, fa.at.Sub(held))
			}
		}
		// The sender kept its T/2 cadence all along: 50T held, 100 beats.
		if len(beats) < 99 {
			t.Fatalf("%d heartbeats from the broker in 50T held, want 100", len(beats))
		}
		if e.at.Sub(resumed) != 3*T*time.Second {
			t.Fatalf("dropped %v after flow ended, want exactly %v", e.at.Sub(resumed), 3*T*time.Second)
		}
		info := endedConn(t, srv)
		if info.Reason != broker.ReasonMissedHeartbeats {
			t.Fatalf("reason %v", info.Reason)
		}
		_ = logs
	})
}

// queueReady returns the ready messages of queue on vhost "/".
func queueReady(t *testing.T, srv *broker.Server, name string) int {
	t.Helper()
	for _, q := range srv.Queues() {
		if q.Name == name {
			return q.MessagesReady
		}
	}
	t.Fatalf("no queue %q", name)
	return 0
}
