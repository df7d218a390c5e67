// Command capture records the octets a real client sends, for the golden tests
// of package amqp. It listens on 127.0.0.1:0, plays a minimal scripted server
// (connection.start, tune, open-ok, channel.open-ok, close-oks) built with
// package amqp, and has amqp091-go v1.16.0 connect, open a channel, publish one
// message whose headers hold every field type amqp091-go can write, and close.
// Everything the client sent is written to <out>/amqp091-go-session.bin.
//
//	go run ./internal/capture -out testdata
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/beatmq/beatmq/amqp"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

func main() {
	out := flag.String("out", "testdata", "directory for the capture")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	srvErr := make(chan error, 1)
	go func() {
		b, err := serve(ln)
		got <- b
		srvErr <- err
	}()
	if err := client("amqp://guest:guest@" + ln.Addr().String() + "/"); err != nil {
		log.Fatal("client: ", err)
	}
	b := <-got
	if err := <-srvErr; err != nil {
		log.Fatal("server: ", err)
	}
	name := filepath.Join(*out, "amqp091-go-session.bin")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d octets to %s\n", len(b), name)
}

// Headers is what the captured publish carries: one header per type that
// amqp091-go writes ('L' it cannot; the tests build that one by hand).
func headers() amqp091.Table {
	return amqp091.Table{
		"bool":      true,
		"int8":      int8(-8),
		"uint8":     uint8(200),
		"int16":     int16(-1600),
		"uint16":    uint16(60000),
		"int32":     int32(-320000),
		"uint32":    uint32(4000000000),
		"int64":     int64(-64000000000),
		"float32":   float32(3.25),
		"float64":   float64(-6.125),
		"decimal":   amqp091.Decimal{Scale: 2, Value: 31415},
		"string":    "a longstr",
		"array":     []any{int32(1), "two", true, nil},
		"timestamp": time.Unix(1700000000, 0),
		"table":     amqp091.Table{"nested": "yes"},
		"bytes":     []byte{0, 1, 2, 0xff},
		"void":      nil,
	}
}

func client(url string) error {
	conn, err := amqp091.Dial(url)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	err = ch.Publish("amq.direct", "capture.key", true, false, amqp091.Publishing{
		Headers:         headers(),
		ContentType:     "text/plain",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp091.Persistent,
		Priority:        5,
		CorrelationId:   "corr-1",
		ReplyTo:         "reply.q",
		Expiration:      "60000",
		MessageId:       "msg-1",
		Timestamp:       time.Unix(1700000001, 0),
		Type:            "capture",
		UserId:          "guest",
		AppId:           "beatmq-capture",
		Body:            []byte("0123456789abcdef"),
	})
	if err != nil {
		return err
	}
	if err := ch.Close(); err != nil {
		return err
	}
	return conn.Close()
}

// serve accepts one connection, answers it, and returns every octet it read.
func serve(ln net.Listener) ([]byte, error) {
	c, err := ln.Accept()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var rec bytes.Buffer
	r := io.TeeReader(c, &rec)
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	send := func(ch uint16, m amqp.Method) error {
		p := amqp.AppendMethod(nil, m)
		f := []byte{1, byte(ch >> 8), byte(ch)}
		f = binary.BigEndian.AppendUint32(f, uint32(len(p)))
		f = append(append(f, p...), 0xCE)
		_, err := c.Write(f)
		return err
	}
	if err := send(0, &amqp.ConnectionStart{
		VersionMajor: 0, VersionMinor: 9,
		ServerProperties: amqp.Table{{Name: "product", Value: "beatmq-capture"}},
		Mechanisms:       "PLAIN AMQPLAIN", Locales: "en_US",
	}); err != nil {
		return nil, err
	}
	for {
		var fh [7]byte
		if _, err := io.ReadFull(r, fh[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(fh[3:])
		if n > 1<<20 {
			return nil, errors.New("frame too large")
		}
		p := make([]byte, n+1)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, err
		}
		ch := binary.BigEndian.Uint16(fh[1:])
		if fh[0] != 1 {
			continue // content header, body, heartbeat
		}
		m, err := amqp.ReadMethod(p[:n])
		if err != nil {
			return nil, err
		}
		var reply amqp.Method
		switch m.(type) {
		case *amqp.ConnectionStartOk:
			reply = &amqp.ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60}
		case *amqp.ConnectionOpen:
			reply = &amqp.ConnectionOpenOk{}
		case *amqp.ChannelOpen:
			reply = &amqp.ChannelOpenOk{}
		case *amqp.ChannelClose:
			reply = &amqp.ChannelCloseOk{}
		case *amqp.ConnectionClose:
			if err := send(0, &amqp.ConnectionCloseOk{}); err != nil {
				return nil, err
			}
			return rec.Bytes(), nil
		}
		if reply != nil {
			if err := send(ch, reply); err != nil {
				return nil, err
			}
		}
	}
}
