package amqp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// scriptedServer answers amqp091-go with methods encoded by this package, so
// the client's own decoder checks the server-to-client half of the definition
// (field order, bits, content) that round trips alone cannot.
type scriptedServer struct {
	c        net.Conn
	r        *bufio.Reader
	gets     int
	publish  int
	flowOk   *ChannelFlowOk
	received []string
}

func (s *scriptedServer) frame(typ uint8, ch uint16, p []byte) error {
	f := []byte{typ, byte(ch >> 8), byte(ch)}
	f = binary.BigEndian.AppendUint32(f, uint32(len(p)))
	f = append(append(f, p...), 0xCE)
	_, err := s.c.Write(f)
	return err
}

func (s *scriptedServer) send(ch uint16, ms ...Method) error {
	for _, m := range ms {
		if err := s.frame(1, ch, AppendMethod(nil, m)); err != nil {
			return err
		}
	}
	return nil
}

func (s *scriptedServer) sendContent(ch uint16, m Method, p *Properties, body []byte) error {
	if err := s.send(ch, m); err != nil {
		return err
	}
	if err := s.frame(2, ch, AppendContentHeader(nil, ClassBasic, uint64(len(body)), AppendProperties(nil, p))); err != nil {
		return err
	}
	return s.frame(3, ch, body)
}

func (s *scriptedServer) read() (uint8, uint16, []byte, error) {
	var h [7]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[3:])
	if n > 1<<20 {
		return 0, 0, nil, fmt.Errorf("frame of %d octets", n)
	}
	p := make([]byte, n+1)
	if _, err := io.ReadFull(s.r, p); err != nil {
		return 0, 0, nil, err
	}
	if p[n] != 0xCE {
		return 0, 0, nil, fmt.Errorf("frame end %#x", p[n])
	}
	return h[0], binary.BigEndian.Uint16(h[1:]), p[:n], nil
}

// serve runs the script until the client's connection.close.
func (s *scriptedServer) serve() error {
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(s.r, hdr); err != nil {
		return err
	}
	if err := s.send(0, &ConnectionStart{
		VersionMajor: 0, VersionMinor: 9,
		ServerProperties: Table{{"product", "beatmq"}, {"capabilities", Table{{"publisher_confirms", true}, {"basic.nack", true}}}},
		Mechanisms:       "PLAIN AMQPLAIN", Locales: "en_US",
	}); err != nil {
		return err
	}
	for {
		typ, ch, p, err := s.read()
		if err != nil {
			return err
		}
		if typ != 1 {
			return fmt.Errorf("unexpected frame type %d", typ)
		}
		m, err := ReadMethod(p)
		if err != nil {
			return err
		}
		s.received = append(s.received, m.Name())
		switch m := m.(type) {
		case *ConnectionStartOk:
			err = s.send(0, &ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 0})
		case *ConnectionTuneOk:
		case *ConnectionOpen:
			err = s.send(0, &ConnectionOpenOk{})
		case *ChannelOpen:
			err = s.send(ch, &ChannelOpenOk{})
		case *BasicQos:
			err = s.send(ch, &BasicQosOk{})
			if err == nil {
				err = s.send(0, &ConnectionBlocked{Reason: "low on memory"}, &ConnectionUnblocked{})
			}
		case *ExchangeDeclare:
			err = s.send(ch, &ExchangeDeclareOk{})
		case *ExchangeDelete:
			err = s.send(ch, &ExchangeDeleteOk{})
		case *ExchangeBind:
			err = s.send(ch, &ExchangeBindOk{})
		case *ExchangeUnbind:
			err = s.send(ch, &ExchangeUnbindOk{})
		case *QueueDeclare:
			err = s.send(ch, &QueueDeclareOk{Queue: m.Queue, MessageCount: 7, ConsumerCount: 3})
		case *QueueBind:
			err = s.send(ch, &QueueBindOk{})
		case *QueueUnbind:
			err = s.send(ch, &QueueUnbindOk{})
		case *QueuePurge:
			err = s.send(ch, &QueuePurgeOk{MessageCount: 5})
		case *QueueDelete:
			err = s.send(ch, &QueueDeleteOk{MessageCount: 4})
		case *ConfirmSelect:
			err = s.send(ch, &ConfirmSelectOk{})
		case *BasicPublish:
			err = s.publishArrived(ch, m)
		case *BasicConsume:
			err = s.send(ch, &BasicConsumeOk{ConsumerTag: m.ConsumerTag})
			if err == nil {
				err = s.sendContent(ch, &BasicDeliver{ConsumerTag: m.ConsumerTag, DeliveryTag: 11, Redelivered: true, Exchange: "x", RoutingKey: "k"},
					&Properties{ContentType: "text/plain", Headers: Table{{"h", int32(1)}}, DeliveryMode: 2, Priority: 3, MessageID: "m1", Timestamp: time.Unix(1700000002, 0), ClusterID: "c1"},
					[]byte("delivered"))
			}
		case *BasicAck:
		case *BasicGet:
			s.gets++
			if s.gets == 1 {
				err = s.sendContent(ch, &BasicGetOk{DeliveryTag: 12, Redelivered: false, Exchange: "x", RoutingKey: "k", MessageCount: 6},
					&Properties{ReplyTo: "r", CorrelationID: "c"}, []byte("got"))
			} else {
				err = s.send(ch, &BasicGetEmpty{})
			}
		case *BasicCancel:
			err = s.send(ch, &BasicCancelOk{ConsumerTag: m.ConsumerTag}, &ChannelFlow{Active: false})
		case *ChannelFlowOk:
			s.flowOk = m
		case *TxSelect:
			err = s.send(ch, &TxSelectOk{})
		case *TxCommit:
			err = s.send(ch, &TxCommitOk{})
		case *TxRollback:
			err = s.send(ch, &TxRollbackOk{})
			if err == nil {
				err = s.send(ch, Errorf(NotFound, &QueueDeclare{}, "no queue 'gone' in vhost '/'").CloseMethod(ch))
			}
		case *ChannelCloseOk:
		case *ChannelClose:
			err = s.send(ch, &ChannelCloseOk{})
		case *ConnectionClose:
			return s.send(0, &ConnectionCloseOk{})
		default:
			return fmt.Errorf("unscripted %s", m.Name())
		}
		if err != nil {
			return err
		}
	}
}

// publishArrived reads the content of a basic.publish and answers the first
// with basic.return (echoing the properties and body) and basic.ack, the
// second with basic.nack.
func (s *scriptedServer) publishArrived(ch uint16, m *BasicPublish) error {
	_, _, h, err := s.read()
	if err != nil {
		return err
	}
	_, size, raw, err := SplitContentHeader(h)
	if err != nil {
		return err
	}
	props, err := DecodeProperties(raw)
	if err != nil {
		return err
	}
	var body []byte
	if size > 0 {
		if _, _, body, err = s.read(); err != nil {
			return err
		}
	}
	s.publish++
	if s.publish == 1 {
		if err := s.sendContent(ch, &BasicReturn{ReplyCode: NoRoute, ReplyText: "NO_ROUTE", Exchange: m.Exchange, RoutingKey: m.RoutingKey}, &props, body); err != nil {
			return err
		}
		return s.send(ch, &BasicAck{DeliveryTag: 1})
	}
	return s.send(ch, &BasicNack{DeliveryTag: 2, Requeue: true})
}

func TestInteropAmqp091GoClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &scriptedServer{}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		srv.c, srv.r = c, bufio.NewReader(c)
		done <- srv.serve()
	}()

	conn, err := amqp091.DialConfig("amqp://guest:guest@"+ln.Addr().String()+"/", amqp091.Config{Heartbeat: 0, Locale: "en_US"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := conn.Properties["product"]; p != "beatmq" {
		t.Errorf("server product %v", p)
	}
	if conn.Major != 0 || conn.Minor != 9 || !reflect.DeepEqual(conn.Locales, []string{"en_US"}) {
		t.Errorf("version %d-%d locales %v", conn.Major, conn.Minor, conn.Locales)
	}
	blocked := conn.NotifyBlocked(make(chan amqp091.Blocking, 2))
	ch, err := conn.Channel()
	must(err)
	must(ch.Qos(10, 0, false))
	if b := <-blocked; !b.Active || b.Reason != "low on memory" {
		t.Errorf("blocked %+v", b)
	}
	if b := <-blocked; b.Active {
		t.Errorf("unblocked %+v", b)
	}
	must(ch.ExchangeDeclare("x", "topic", true, false, false, false, amqp091.Table{"alternate-exchange": "ae"}))
	must(ch.ExchangeBind("x2", "k", "x", false, nil))
	must(ch.ExchangeUnbind("x2", "k", "x", false, nil))
	q, err := ch.QueueDeclare("q", true, false, false, false, amqp091.Table{"x-max-length": int32(10)})
	must(err)
	if q.Name != "q" || q.Messages != 7 || q.Consumers != 3 {
		t.Errorf("queue %+v", q)
	}
	must(ch.QueueBind("q", "k", "x", false, nil))
	must(ch.QueueUnbind("q", "k", "x", nil))
	if n, err := ch.QueuePurge("q", false); err != nil || n != 5 {
		t.Errorf("purge %d %v", n, err)
	}

	must(ch.Confirm(false))
	returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 2))
	pub := amqp091.Publishing{ContentType: "application/json", Headers: amqp091.Table{"n": int64(1)}, DeliveryMode: 2, Body: []byte(`{"a":1}`)}
	must(ch.Publish("x", "nowhere", true, false, pub))
	r := <-returns
	if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.Exchange != "x" || r.RoutingKey != "nowhere" ||
		r.ContentType != "application/json" || r.DeliveryMode != 2 || r.Headers["n"] != int64(1) || string(r.Body) != `{"a":1}` {
		t.Errorf("return %+v", r)
	}
	if c := <-confirms; !c.Ack || c.DeliveryTag != 1 {
		t.Errorf("confirm %+v", c)
	}
	must(ch.Publish("x", "k", false, false, amqp091.Publishing{}))
	if c := <-confirms; c.Ack || c.DeliveryTag != 2 {
		t.Errorf("nack %+v", c)
	}

	flow := ch.NotifyFlow(make(chan bool, 1))
	deliveries, err := ch.Consume("q", "ctag", false, false, false, false, nil)
	must(err)
	d := <-deliveries
	if d.ConsumerTag != "ctag" || d.DeliveryTag != 11 || !d.Redelivered || d.Exchange != "x" || d.RoutingKey != "k" ||
		d.ContentType != "text/plain" || d.Headers["h"] != int32(1) || d.DeliveryMode != 2 || d.Priority != 3 ||
		d.MessageId != "m1" || !d.Timestamp.Equal(time.Unix(1700000002, 0)) || string(d.Body) != "delivered" {
		t.Errorf("delivery %+v", d)
	}
	must(d.Ack(false))
	g, ok, err := ch.Get("q", false)
	must(err)
	if !ok || g.DeliveryTag != 12 || g.Redelivered || g.Exchange != "x" || g.RoutingKey != "k" || g.MessageCount != 6 ||
		g.ReplyTo != "r" || g.CorrelationId != "c" || string(g.Body) != "got" {
		t.Errorf("get %v %+v", ok, g)
	}
	if _, ok, err := ch.Get("q", false); ok || err != nil {
		t.Errorf("get-empty: %v %v", ok, err)
	}
	must(ch.Cancel("ctag", false))
	if active := <-flow; active {
		t.Error("channel.flow active=false arrived as true")
	}
	if n, err := ch.QueueDelete("q", false, false, false); err != nil || n != 4 {
		t.Errorf("delete %d %v", n, err)
	}
	must(ch.ExchangeDelete("x", false, false))

	ch2, err := conn.Channel()
	must(err)
	closed := ch2.NotifyClose(make(chan *amqp091.Error, 1))
	must(ch2.Tx())
	must(ch2.TxCommit())
	must(ch2.TxRollback())
	if e := <-closed; e == nil || e.Code != 404 || e.Reason != "NOT_FOUND - no queue 'gone' in vhost '/'" || !e.Server || !e.Recover {
		t.Errorf("channel close %+v", e)
	}
	must(ch.Close())
	must(conn.Close())
	if err := <-done; err != nil {
		t.Fatal("server: ", err)
	}
	if srv.flowOk == nil || srv.flowOk.Active {
		t.Errorf("flow-ok %+v", srv.flowOk)
	}
}
