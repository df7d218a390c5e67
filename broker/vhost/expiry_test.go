package vhost

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// sleep advances the bubble's fake clock and lets timers run.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func TestMessageTTLExpiresByTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare("ttl", amqp.Table{{Name: "x-message-ttl", Value: int32(100)}})
		e.publish("", "ttl", "a")
		sleep(50 * time.Millisecond)
		e.publish("", "ttl", "b")
		sleep(49 * time.Millisecond)
		if n := e.ready("ttl"); n != 2 {
			t.Fatalf("%d ready at 99 ms", n)
		}
		// Nothing reads the queue: the timer alone drops the message.
		sleep(2 * time.Millisecond)
		if n := e.ready("ttl"); n != 1 {
			t.Fatalf("%d ready at 101 ms", n)
		}
		sleep(50 * time.Millisecond)
		if n := e.ready("ttl"); n != 0 {
			t.Fatalf("%d ready at 151 ms", n)
		}
	})
}

// TestQueueTTLGet is amqp091-go's TestRabbitMQQueueTTLGet, which only checks
// when the server says it is RabbitMQ.
func TestQueueTTLGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		_, err := e.s.DeclareQueue(QueueSpec{Name: "test.rabbitmq-message-ttl", Durable: true, AutoDelete: true,
			Args: amqp.Table{{Name: "x-message-ttl", Value: int32(100)}}})
		noErr(t, err)
		e.publish("", "test.rabbitmq-message-ttl", "ttl")
		sleep(200 * time.Millisecond)
		if b, _ := e.get(e.s, e.k, "test.rabbitmq-message-ttl", false); b != "" {
			t.Fatal("message did not expire in 100 ms")
		}
	})
}

func TestPerMessageExpiration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare("q", nil)
		e.declare("ttlq", amqp.Table{{Name: "x-message-ttl", Value: int32(1000)}})
		e.publishMsg("", "q", propsMsg(t, "short", amqp.Properties{Expiration: "50"}))
		e.publishMsg("", "ttlq", propsMsg(t, "shorter than queue", amqp.Properties{Expiration: "50"}))
		e.publishMsg("", "ttlq", propsMsg(t, "longer than queue", amqp.Properties{Expiration: "5000"}))
		sleep(60 * time.Millisecond)
		if e.ready("q") != 0 || e.ready("ttlq") != 1 {
			t.Fatalf("q %d ttlq %d", e.ready("q"), e.ready("ttlq"))
		}
		sleep(1000 * time.Millisecond)
		if e.ready("ttlq") != 0 {
			t.Fatal("queue ttl did not cap the message expiration")
		}
		// Only the head expires: a short-lived message behind a long-lived
		// one waits for it, as in RabbitMQ.
		e.publishMsg("", "q", propsMsg(t, "long", amqp.Properties{Expiration: "1000"}))
		e.publishMsg("", "q", propsMsg(t, "short", amqp.Properties{Expiration: "10"}))
		sleep(100 * time.Millisecond)
		if e.ready("q") != 2 {
			t.Fatalf("%d ready", e.ready("q"))
		}
		sleep(1000 * time.Millisecond)
		if e.ready("q") != 0 {
			t.Fatalf("%d ready", e.ready("q"))
		}
	})
}

func TestExpirationValidation(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	for _, c := range []struct{ exp, text string }{
		{"abc", "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"},
		{"10s", `PRECONDITION_FAILED - invalid expiration '10s': {leftover_string,"s"}`},
		{"-5", "PRECONDITION_FAILED - invalid expiration '-5': {value_negative,-5}"},
		{"", "PRECONDITION_FAILED - invalid expiration '': no_integer"},
	} {
		m := propsMsg(t, "x", amqp.Properties{Flags: amqp.FlagExpiration, Expiration: c.exp})
		_, err := e.s.Publish("", "q", false, m)
		wantErr(t, err, 406, c.text)
	}
}

func TestZeroTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare("q", amqp.Table{{Name: "x-message-ttl", Value: int32(0)}})
		e.publish("", "q", "dropped")
		if e.ready("q") != 0 {
			t.Fatal("ttl 0 message kept without a consumer")
		}
		s, k := e.session(e.conn)
		e.consume(s, "q", false)
		e.publish("", "q", "delivered")
		if bodies(k.take()) != "delivered" {
			t.Fatal("ttl 0 message not delivered to a waiting consumer")
		}
	})
}

func TestQueueExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare("exp", amqp.Table{{Name: "x-expires", Value: int32(100)}})
		sleep(90 * time.Millisecond)
		e.declare("exp", amqp.Table{{Name: "x-expires", Value: int32(100)}}) // use: restarts the countdown
		sleep(90 * time.Millisecond)
		e.get(e.s, e.k, "exp", true) // use
		sleep(90 * time.Millisecond)
		if _, ok := e.v.Queue("exp"); !ok {
			t.Fatal("expired while in use")
		}
		s, _ := e.session(e.conn)
		tag := e.consume(s, "exp", true)
		sleep(500 * time.Millisecond)
		if _, ok := e.v.Queue("exp"); !ok {
			t.Fatal("expired with a consumer")
		}
		s.Cancel(tag)
		sleep(99 * time.Millisecond)
		if _, ok := e.v.Queue("exp"); !ok {
			t.Fatal("expired early")
		}
		sleep(2 * time.Millisecond)
		if _, ok := e.v.Queue("exp"); ok {
			t.Fatal("unused queue did not expire")
		}
	})
}

func TestMaxLength(t *testing.T) {
	e := newEnv(t)
	e.declare("q", amqp.Table{{Name: "x-max-length", Value: int32(2)}})
	publishN(e, "q", 5)
	var got []string
	for b, _ := e.get(e.s, e.k, "q", true); b != ""; b, _ = e.get(e.s, e.k, "q", true) {
		got = append(got, b)
	}
	if len(got) != 2 || got[0] != "4" || got[1] != "5" {
		t.Fatalf("kept %v", got)
	}

	e.declare("bytes", amqp.Table{{Name: "x-max-length-bytes", Value: int32(10)}})
	for _, b := range []string{"aaaa", "bbbb", "cccc"} {
		e.publish("", "bytes", b)
	}
	if info, _ := e.v.Queue("bytes"); info.MessagesReady != 2 || info.MessageBytesReady != 8 {
		t.Fatalf("bytes %+v", info)
	}

	e.declare("rej", amqp.Table{{Name: "x-max-length", Value: int32(1)}, {Name: "x-overflow", Value: "reject-publish"}})
	if r := e.publish("", "rej", "1"); !r.Routed || r.Rejected {
		t.Fatalf("first %+v", r)
	}
	if r := e.publish("", "rej", "2"); !r.Routed || !r.Rejected {
		t.Fatalf("second %+v", r)
	}
	if b, _ := e.get(e.s, e.k, "rej", true); b != "1" {
		t.Fatalf("kept %q", b)
	}

	// A consumer that can take the message leaves the queue empty, so a
	// limit of 0 still delivers.
	e.declare("zero", amqp.Table{{Name: "x-max-length", Value: int32(0)}})
	s, k := e.session(e.conn)
	e.consume(s, "zero", true)
	e.publish("", "zero", "through")
	if bodies(k.take()) != "through" {
		t.Fatal("max-length 0 dropped a message a consumer could take")
	}
}

func TestExpiredSkippedOnDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare("q", nil)
		s, k := e.session(e.conn)
		noErr(t, s.Qos(0, 1, false))
		e.consume(s, "q", false)
		e.publish("", "q", "first")
		e.publishMsg("", "q", propsMsg(t, "second", amqp.Properties{Expiration: "1000"}))
		e.publishMsg("", "q", propsMsg(t, "expires behind the second", amqp.Properties{Expiration: "10"}))
		e.publish("", "q", "fourth")
		sleep(50 * time.Millisecond)
		noErr(t, s.Ack(1, false))
		noErr(t, s.Ack(2, false))
		noErr(t, s.Ack(3, false))
		if got := bodies(k.take()); got != "first,second,fourth" {
			t.Fatalf("delivered %q", got)
		}
	})
}
