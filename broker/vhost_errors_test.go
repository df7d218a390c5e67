package broker_test

import (
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// broker/vhost returns errors that name no method; the channel gives them the
// class and method ids of the method it was handling, for soft errors
// (channel.close) and hard ones (connection.close) alike, content-bearing
// methods included.
func TestVHostErrorNamesMethod(t *testing.T) {
	b := start(t, unit)
	publish := func(r *brokertest.RawConn, pub *amqp.BasicPublish, props []byte) {
		r.SendMethod(1, pub)
		r.SendFrame(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 0, props))
	}
	cases := []struct {
		name              string
		script            func(r *brokertest.RawConn)
		hard              bool
		code              uint16
		text              string
		classID, methodID uint16
	}{
		{"queue.declare bad argument", func(r *brokertest.RawConn) {
			r.SendMethod(1, &amqp.QueueDeclare{Queue: "q", Arguments: amqp.Table{{Name: "x-message-ttl", Value: int32(-1)}}})
		}, false, 406, "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}", 50, 10},
		{"exchange.declare inequivalent", func(r *brokertest.RawConn) {
			r.SendMethod(1, &amqp.ExchangeDeclare{Exchange: "x", Type: "direct", NoWait: true})
			r.SendMethod(1, &amqp.ExchangeDeclare{Exchange: "x", Type: "fanout"})
		}, false, 406, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'", 40, 10},
		{"exchange.declare unknown type", func(r *brokertest.RawConn) {
			r.SendMethod(1, &amqp.ExchangeDeclare{Exchange: "y", Type: "x-unknown"})
		}, true, 503, "COMMAND_INVALID - unknown exchange type 'x-unknown'", 40, 10},
		{"queue.bind missing exchange", func(r *brokertest.RawConn) {
			r.SendMethod(1, &amqp.QueueBind{Queue: "amq.gen-none", Exchange: "nope"})
		}, false, 404, "NOT_FOUND - no exchange 'nope' in vhost '/'", 50, 20},
		{"basic.ack unknown tag", func(r *brokertest.RawConn) {
			r.SendMethod(1, &amqp.BasicAck{DeliveryTag: 7})
		}, false, 406, "PRECONDITION_FAILED - unknown delivery tag 7", 60, 80},
		{"basic.get no previous queue", func(r *brokertest.RawConn) {
			r.SendMethod(1, &amqp.BasicGet{})
		}, false, 404, "NOT_FOUND - no previously declared queue", 60, 70},
		{"tx.commit not transactional", func(r *brokertest.RawConn) {
			r.SendMethod(1, &amqp.TxCommit{})
		}, false, 406, "PRECONDITION_FAILED - channel is not transactional", 90, 20},
		{"basic.publish missing exchange", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{Exchange: "nope"}, []byte{0, 0})
		}, false, 404, "NOT_FOUND - no exchange 'nope' in vhost '/'", 60, 40},
		// A property list that does not decode is an error of the content,
		// not the method: it names none.
		{"basic.publish undecodable properties", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{}, []byte{0x20, 0})
		}, true, 501, "FRAME_ERROR - cannot decode <<32,0>>", 0, 0},
		{"basic.publish undecodable user_id", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{}, []byte{0, 0x10})
		}, true, 501, "FRAME_ERROR - cannot decode <<0,16>>", 0, 0},
		// Every property list is checked, not only those the broker needs
		// to decode (headers, delivery mode, expiration, user_id): one that
		// does not decode is never relayed to a consumer.
		{"basic.publish undecodable content_type", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{}, []byte{0x80, 0, 3, 'a'})
		}, true, 501, "FRAME_ERROR - cannot decode <<128,0,3,97>>", 0, 0},
		{"basic.publish undecodable content_encoding", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{}, []byte("ZC100900008070"))
		}, true, 501, "FRAME_ERROR - cannot decode <<90,67,49,48,48,57,48,48,48,48,56,48,55,48>>", 0, 0},
		{"basic.publish short timestamp", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{}, []byte{0, 0x40, 0, 0, 0, 0})
		}, true, 501, "FRAME_ERROR - cannot decode <<0,64,0,0,0,0>>", 0, 0},
		{"basic.publish trailing octet", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{}, []byte{0, 0, 7})
		}, true, 501, "FRAME_ERROR - cannot decode <<0,0,7>>", 0, 0},
		{"basic.publish empty property list", func(r *brokertest.RawConn) {
			publish(r, &amqp.BasicPublish{}, nil)
		}, true, 501, "FRAME_ERROR - cannot decode <<>>", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := brokertest.DialRaw(t, b.Addr())
			r.Connect("vhost-errors", 0)
			openChannel(t, r, 1)
			tc.script(r)
			if tc.hard {
				expectClose(t, r, tc.code, tc.text, tc.classID, tc.methodID)
				return
			}
			ch, m, err := r.ReadMethod(3 * time.Second)
			cl, ok := m.(*amqp.ChannelClose)
			if err != nil || ch != 1 || !ok || cl.ReplyCode != tc.code || cl.ReplyText != tc.text ||
				cl.ReplyClassID != tc.classID || cl.ReplyMethodID != tc.methodID {
				t.Fatalf("got channel %d %+v, %v; want channel.close %d %q %d/%d",
					ch, m, err, tc.code, tc.text, tc.classID, tc.methodID)
			}
		})
	}
}
