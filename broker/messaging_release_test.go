package broker_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// Messages delivered to a consumer whose connection then dies of missed
// heartbeats all go back to their queue, marked redelivered, in their
// original order: none lost, none delivered twice beyond that redelivery.
// The consumer is a raw client that goes silent with T = 1 (50 ms): first
// one that read every delivery and acked some, then one that never read a
// delivery, so that the broker's writer is stuck on a full socket when the
// heartbeat receiver gives up.
func TestMissedHeartbeatsRequeueDeliveries(t *testing.T) {
	const hb = 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		n     int
		size  int
		read  bool
		acked int
		queue string
	}{
		{name: "read", n: 200, size: 16, read: true, acked: 20, queue: "hb-read"},
		{name: "unread", n: 500, size: 64 << 10, read: false, queue: "hb-unread"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := brokertest.Run(t, brokertest.WithHeartbeatUnit(hb))
			pub := channel(t, dial(t, b, "publisher"))
			declare(t, pub, tc.queue, nil)
			body := func(i int) []byte {
				p := bytes.Repeat([]byte{'.'}, tc.size)
				copy(p, fmt.Sprintf("m%04d", i))
				return p
			}
			for i := range tc.n {
				publish(t, pub, tc.queue, body(i))
			}
			waitReady(t, pub, tc.queue, tc.n)

			r := brokertest.DialRaw(t, b.Addr())
			r.Connect("doomed", 1)
			openChannel(t, r, 1)
			r.SendMethod(1, &amqp.BasicConsume{Queue: tc.queue, ConsumerTag: "doomed"})
			brokertest.Expect[*amqp.BasicConsumeOk](r, 3*time.Second)
			if tc.read {
				seen := map[uint64]bool{}
				for i := range tc.n {
					d := brokertest.Expect[*amqp.BasicDeliver](r, 3*time.Second)
					got := readContent(t, r)
					if seen[d.DeliveryTag] || d.Redelivered || !bytes.Equal(got, body(i)) {
						t.Fatalf("delivery %d: tag %d (seen %v) redelivered %v body %q", i, d.DeliveryTag, seen[d.DeliveryTag], d.Redelivered, got)
					}
					seen[d.DeliveryTag] = true
					if i < tc.acked {
						r.SendMethod(1, &amqp.BasicAck{DeliveryTag: d.DeliveryTag})
					}
					if i%10 == 0 {
						r.SendHeartbeat()
					}
				}
			}
			// Silence: the broker gives up after 2 to 3 T.
			info, ok := b.WaitClosed(r.Conn.LocalAddr(), 5*time.Second)
			if !ok || info.Reason != broker.ReasonMissedHeartbeats {
				t.Fatalf("doomed consumer: ended %v, %+v", ok, info)
			}

			// Everything not acked is back, redelivered, in order, once.
			got := channel(t, dial(t, b, "verifier"))
			msgs, err := got.Consume(tc.queue, "verifier", false, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := tc.acked; i < tc.n; i++ {
				select {
				case d := <-msgs:
					if !bytes.Equal(d.Body, body(i)) || !d.Redelivered {
						t.Fatalf("message %d came back as %.5q redelivered %v", i, d.Body, d.Redelivered)
					}
					if err := d.Ack(false); err != nil {
						t.Fatal(err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("message %d lost", i)
				}
			}
			select {
			case d := <-msgs:
				t.Fatalf("extra delivery %.5q", d.Body)
			case <-time.After(100 * time.Millisecond):
			}
			waitReady(t, pub, tc.queue, 0)
		})
	}
}

// waitReady waits until queue has n ready messages.
func waitReady(t *testing.T, ch *amqp091.Channel, queue string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Messages == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s has %d messages, want %d", queue, q.Messages, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Unacked messages go back in their original order whichever way their
// channel ends: channel.close, a channel error, connection.close.
func TestReleaseRequeuesInOrder(t *testing.T) {
	b := brokertest.Run(t)
	c := dial(t, b, "release")
	ctl := channel(t, c)
	declare(t, ctl, "release", nil)
	for _, end := range []string{"channel.close", "channel error", "connection.close"} {
		for i := range 5 {
			publish(t, ctl, "release", []byte{byte('a' + i)})
		}
		waitReady(t, ctl, "release", 5)
		cc := c
		if end == "connection.close" {
			cc = dial(t, b, "release-2")
		}
		ch := channel(t, cc)
		// Take them in two gets and three deliveries, ack none.
		get(t, ch, "release")
		get(t, ch, "release")
		msgs, err := ch.Consume("release", "", false, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			<-msgs
		}
		switch end {
		case "channel.close":
			_ = ch.Close()
		case "channel error":
			_ = ch.Ack(99, false) // 406 unknown delivery tag
		case "connection.close":
			_ = cc.Close()
		}
		waitReady(t, ctl, "release", 5)
		for i := range 5 {
			d := get(t, ctl, "release")
			if d.Body[0] != byte('a'+i) || !d.Redelivered {
				t.Fatalf("%s: message %d is %q redelivered %v", end, i, d.Body, d.Redelivered)
			}
			if err := d.Ack(false); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Exclusive queues go with their connection, however it ends.
func TestExclusiveQueueDeletedWithConnection(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithHeartbeatUnit(50*time.Millisecond))
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("owner", 1)
	openChannel(t, r, 1)
	r.SendMethod(1, &amqp.QueueDeclare{Queue: "mine", Exclusive: true})
	brokertest.Expect[*amqp.QueueDeclareOk](r, 3*time.Second)

	other := channel(t, dial(t, b, "other"))
	closed := other.NotifyClose(make(chan *amqp091.Error, 1))
	_, err := other.QueueDeclarePassive("mine", false, false, true, false, nil)
	if err == nil {
		t.Fatal("another connection could use an exclusive queue")
	}
	wantAMQPError(t, closeErr(t, closed), 405,
		"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'mine' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.")

	// The owner goes silent and is dropped; the queue goes with it.
	if _, ok := b.WaitClosed(r.Conn.LocalAddr(), 5*time.Second); !ok {
		t.Fatal("owner still connected")
	}
	ch := channel(t, dial(t, b, "after"))
	closed = ch.NotifyClose(make(chan *amqp091.Error, 1))
	if _, err := ch.QueueDeclarePassive("mine", false, false, false, false, nil); err == nil {
		t.Fatal("exclusive queue outlived its connection")
	}
	wantAMQPError(t, closeErr(t, closed), 404, "NOT_FOUND - no queue 'mine' in vhost '/'")
}

// The replies to methods the client sent before its connection.close go
// out before close-ok, as RabbitMQ's channels answer what they have
// received and its writer flushes them first: a basic.get-ok queued behind
// a delivery and the basic.qos-ok behind it are not dropped.
func TestRepliesBeforeCloseOk(t *testing.T) {
	b := brokertest.Run(t)
	for i := range 20 {
		r := brokertest.DialRaw(t, b.Addr())
		r.Connect("replies", 0)
		openChannel(t, r, 1)
		q := fmt.Sprint("replies-", i)
		var buf []byte
		buf = append(buf, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.QueueDeclare{Queue: q, AutoDelete: true}))...)
		pub := &amqp.BasicPublish{RoutingKey: q}
		buf = append(buf, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(pub))...)
		buf = append(buf, brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 3, noProps))...)
		buf = append(buf, brokertest.FrameBytes(frames.TypeBody, 1, []byte("abc"))...)
		buf = append(buf, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.BasicGet{Queue: q}))...)
		buf = append(buf, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.BasicQos{PrefetchCount: 5}))...)
		buf = append(buf, brokertest.FrameBytes(frames.TypeMethod, 0, brokertest.MethodPayload(&amqp.ConnectionClose{ReplyCode: 200, ReplyText: "bye"}))...)
		r.Write(buf)
		var got []string
		for range 10 {
			f, err := r.ReadFrame(3 * time.Second)
			if err != nil {
				t.Fatalf("round %d: after %v: %v", i, got, err)
			}
			if f.Type != frames.TypeMethod {
				continue
			}
			m, err := amqp.ReadMethod(f.Payload)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m.Name())
			if _, ok := m.(*amqp.ConnectionCloseOk); ok {
				break
			}
		}
		want := "queue.declare-ok basic.get-ok basic.qos-ok connection.close-ok"
		if strings.Join(got, " ") != want {
			t.Fatalf("round %d: the broker sent %v, want %s", i, got, want)
		}
	}
}
