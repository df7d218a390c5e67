package broker_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// benchClient is a minimal AMQP client for the benchmarks: it writes
// pre-encoded frames and parses only what it must, so that the allocations
// reported are the broker's.
type benchClient struct {
	tb testing.TB
	nc net.Conn
	rd *frames.Reader
}

func dialBench(tb testing.TB, addr string) *benchClient {
	tb.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = nc.Close() })
	c := &benchClient{tb: tb, nc: nc, rd: frames.NewReader(nc)}
	c.rd.SetFrameMax(0)
	c.write(frames.ProtocolHeader[:])
	c.expect(amqp.ClassConnection, 10) // start
	c.send(0, &amqp.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	c.expect(amqp.ClassConnection, 30) // tune
	c.send(0, &amqp.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072})
	c.send(0, &amqp.ConnectionOpen{VirtualHost: "/"})
	c.expect(amqp.ClassConnection, 41)
	c.send(1, &amqp.ChannelOpen{})
	c.expect(amqp.ClassChannel, 11)
	return c
}

func (c *benchClient) write(b []byte) {
	if _, err := c.nc.Write(b); err != nil {
		c.tb.Fatal(err)
	}
}

func (c *benchClient) send(ch uint16, m amqp.Method) {
	c.write(brokertest.FrameBytes(frames.TypeMethod, ch, brokertest.MethodPayload(m)))
}

// expect reads frames until a method frame and checks its ids.
func (c *benchClient) expect(class, method uint16) []byte {
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		f, err := c.rd.ReadFrame()
		if err != nil {
			c.tb.Fatal(err)
		}
		if f.Type != frames.TypeMethod {
			continue
		}
		if cl, me := binary.BigEndian.Uint16(f.Payload), binary.BigEndian.Uint16(f.Payload[2:]); cl != class || me != method {
			c.tb.Fatalf("got method %d.%d, want %d.%d", cl, me, class, method)
		}
		return f.Payload
	}
}

// BenchmarkPublishConsume is one publisher and one consumer on one queue
// through the broker over loopback, 16-byte bodies: "plain" publishes
// without confirms to a no-ack consumer; "confirms+acks" publishes in
// confirm mode (at most 1000 unconfirmed) to a consumer that acks every
// delivery (prefetch 1000). One op is one message published and consumed;
// msgs/s is the end-to-end rate.
func BenchmarkPublishConsume(b *testing.B) {
	for _, tc := range []struct {
		name     string
		confirms bool
		size     int
	}{
		{"16B/plain", false, 16},
		{"16B/confirms+acks", true, 16},
		{"4KiB/confirms+acks", true, 4096},
	} {
		b.Run(tc.name, func(b *testing.B) { benchPublishConsume(b, tc.confirms, tc.size) })
	}
}

func benchPublishConsume(b *testing.B, confirms bool, size int) {
	br := brokertest.Run(b)
	cons := dialBench(b, br.Addr())
	cons.send(1, &amqp.QueueDeclare{Queue: "bench"})
	cons.expect(amqp.ClassQueue, 11)
	if confirms {
		cons.send(1, &amqp.BasicQos{PrefetchCount: 1000})
		cons.expect(amqp.ClassBasic, 11)
	}
	cons.send(1, &amqp.BasicConsume{Queue: "bench", ConsumerTag: "c", NoAck: !confirms})
	cons.expect(amqp.ClassBasic, 21)

	pub := dialBench(b, br.Addr())
	if confirms {
		pub.send(1, &amqp.ConfirmSelect{})
		pub.expect(amqp.ClassConfirm, 11)
	}
	const batch = 50
	var msg []byte
	msg = append(msg, brokertest.FrameBytes(frames.TypeMethod, 1, brokertest.MethodPayload(&amqp.BasicPublish{RoutingKey: "bench"}))...)
	msg = append(msg, brokertest.FrameBytes(frames.TypeHeader, 1, amqp.AppendContentHeader(nil, 60, uint64(size), []byte{0, 0}))...)
	msg = append(msg, brokertest.FrameBytes(frames.TypeBody, 1, make([]byte, size))...)
	var batchBuf []byte
	for range batch {
		batchBuf = append(batchBuf, msg...)
	}

	n := b.N
	var confirmed atomic.Int64
	confirmDone := make(chan struct{})
	if confirms {
		go func() {
			defer close(confirmDone)
			for confirmed.Load() < int64(n) {
				_ = pub.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
				f, err := pub.rd.ReadFrame()
				if err != nil {
					return
				}
				if f.Type == frames.TypeMethod && binary.BigEndian.Uint16(f.Payload[2:]) == 80 { // basic.ack
					confirmed.Store(int64(binary.BigEndian.Uint64(f.Payload[4:])))
				}
			}
		}()
	} else {
		close(confirmDone)
	}
	pubErr := make(chan error, 1)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	go func() {
		for sent := 0; sent < n; {
			k := min(batch, n-sent)
			for confirms && int64(sent+k)-confirmed.Load() > 1000 {
				time.Sleep(20 * time.Microsecond)
			}
			if _, err := pub.nc.Write(batchBuf[:k*len(msg)]); err != nil {
				pubErr <- err
				return
			}
			sent += k
		}
		pubErr <- nil
	}()

	var acks []byte
	ackFrame := make([]byte, 0, 21)
	got := 0
	for got < n {
		_ = cons.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		f, err := cons.rd.ReadFrame()
		if err != nil {
			b.Fatalf("consumer after %d of %d: %v", got, n, err)
		}
		if f.Type != frames.TypeMethod || binary.BigEndian.Uint16(f.Payload[2:]) != 60 { // basic.deliver
			continue
		}
		got++
		if !confirms {
			continue
		}
		tagAt := 4 + 1 + int(f.Payload[4])
		tag := binary.BigEndian.Uint64(f.Payload[tagAt:])
		ackFrame = append(ackFrame[:0], frames.TypeMethod, 0, 1, 0, 0, 0, 13, 0, 60, 0, 80)
		ackFrame = binary.BigEndian.AppendUint64(ackFrame, tag)
		ackFrame = append(ackFrame, 0, frames.FrameEnd)
		acks = append(acks, ackFrame...)
		if got%100 == 0 || got == n {
			cons.write(acks)
			acks = acks[:0]
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := <-pubErr; err != nil {
		b.Fatal(err)
	}
	<-confirmDone
	if confirms && confirmed.Load() != int64(n) {
		b.Fatalf("confirmed %d of %d", confirmed.Load(), n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	_ = fmt.Sprint()
}
