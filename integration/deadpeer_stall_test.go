//go:build integration

package integration

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames"
)

// deadPeerStallClient is a client that stops reading its socket, written
// with beatmq's frame and method codecs (client libraries always read): it
// connects with heartbeat BEATMQ_DEADPEER_HEARTBEAT, consumes from
// BEATMQ_DEADPEER_QUEUE without a prefetch limit, publishes a message every
// 500 ms for 3 s (the memory alarm is already on: the broker blocks it at
// the first one it sees with the alarm raised), prints "stalled" and then
// never reads again, so the deliveries fill its receive window. It keeps the
// connection until stdin closes or it is killed.
func deadPeerStallClient() int {
	fail := func(err error) int { fmt.Println("error:", err); return 1 }
	u, err := url.Parse(os.Getenv("BEATMQ_DEADPEER_URL"))
	if err != nil {
		return fail(err)
	}
	hb, err := time.ParseDuration(os.Getenv("BEATMQ_DEADPEER_HEARTBEAT"))
	if err != nil {
		return fail(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	rd := frames.NewReader(c)
	rd.SetFrameMax(0)
	send := func(typ uint8, ch uint16, payload []byte) error {
		n := len(payload)
		b := append([]byte{typ, byte(ch >> 8), byte(ch), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
		_, err := c.Write(append(b, frames.FrameEnd))
		return err
	}
	method := func(ch uint16, m amqp.Method) error { return send(frames.TypeMethod, ch, amqp.AppendMethod(nil, m)) }
	// expect reads methods, skipping heartbeats, until one of type T.
	expect := func(name string) error {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			f, err := rd.ReadFrame()
			if err != nil {
				return fmt.Errorf("waiting for %s: %v", name, err)
			}
			if f.Type != frames.TypeMethod {
				continue
			}
			m, err := amqp.ReadMethod(f.Payload)
			if err != nil {
				return err
			}
			if m.Name() == name {
				return nil
			}
			return fmt.Errorf("got %s, want %s", m.Name(), name)
		}
	}
	steps := []func() error{
		func() error { _, err := c.Write(frames.ProtocolHeader[:]); return err },
		func() error { return expect("connection.start") },
		func() error {
			return method(0, &amqp.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US",
				ClientProperties: amqp.Table{{Name: "connection_name", Value: os.Getenv("BEATMQ_DEADPEER_NAME")}}})
		},
		func() error { return expect("connection.tune") },
		func() error {
			return method(0, &amqp.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072, Heartbeat: uint16(hb / time.Second)})
		},
		func() error { return method(0, &amqp.ConnectionOpen{VirtualHost: "/"}) },
		func() error { return expect("connection.open-ok") },
		func() error { return method(1, &amqp.ChannelOpen{}) },
		func() error { return expect("channel.open-ok") },
		func() error { return method(1, &amqp.BasicConsume{Queue: os.Getenv("BEATMQ_DEADPEER_QUEUE")}) },
		func() error { return expect("basic.consume-ok") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fail(err)
		}
	}
	for range 6 {
		err := errors.Join(
			method(1, &amqp.BasicPublish{RoutingKey: "beatmq-deadpeer-nowhere"}),
			send(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, 1, []byte{0, 0})),
			send(frames.TypeBody, 1, []byte("x")))
		if err != nil {
			return fail(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Println("stalled")
	for sc := bufio.NewScanner(os.Stdin); sc.Scan(); {
	}
	return 0
}
