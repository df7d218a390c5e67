package vhost

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/beatmq/beatmq/amqp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sink records what the model hands a session.
type sink struct {
	mu        sync.Mutex
	ds        []Delivery
	cancelled []string
	onDeliver func(d Delivery)
}

func (k *sink) Deliver(d Delivery) {
	k.mu.Lock()
	k.ds = append(k.ds, d)
	f := k.onDeliver
	k.mu.Unlock()
	if f != nil {
		f(d)
	}
}

func (k *sink) ConsumerCancelled(tag string) {
	k.mu.Lock()
	k.cancelled = append(k.cancelled, tag)
	k.mu.Unlock()
}

// take returns and forgets the deliveries so far.
func (k *sink) take() []Delivery {
	k.mu.Lock()
	defer k.mu.Unlock()
	ds := k.ds
	k.ds = nil
	return ds
}

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.ds)
}

func (k *sink) cancels() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.cancelled...)
}

// env is one vhost with a connection and a session on it.
type env struct {
	t    *testing.T
	v    *VHost
	conn *Conn
	s    *Session
	k    *sink
}

func newEnv(t *testing.T) *env {
	t.Helper()
	v := New("/", Options{})
	t.Cleanup(v.Close)
	e := &env{t: t, v: v}
	e.conn = v.Connect()
	e.s, e.k = e.session(e.conn)
	return e
}

func (e *env) session(c *Conn) (*Session, *sink) {
	k := &sink{}
	return c.NewSession(k), k
}

// noProps is the smallest valid property list: a flags word of 0.
var noProps = []byte{0, 0}

func msg(t testing.TB, body string) *Message {
	t.Helper()
	m, err := NewMessage("", "", noProps, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// propsMsg makes a message with properties p.
func propsMsg(t testing.TB, body string, p amqp.Properties) *Message {
	t.Helper()
	m, err := NewMessage("", "", amqp.AppendProperties(nil, &p), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) declare(name string, args amqp.Table) string {
	e.t.Helper()
	d, err := e.s.DeclareQueue(QueueSpec{Name: name, Args: args})
	if err != nil {
		e.t.Fatalf("declare %q: %v", name, err)
	}
	return d.Name
}

func (e *env) declareX(name, kind string) {
	e.t.Helper()
	if err := e.s.DeclareExchange(ExchangeSpec{Name: name, Type: kind}); err != nil {
		e.t.Fatalf("declare exchange %q: %v", name, err)
	}
}

func (e *env) bind(q, x, key string, args amqp.Table) {
	e.t.Helper()
	if err := e.s.BindQueue(q, x, key, args); err != nil {
		e.t.Fatalf("bind %q to %q: %v", q, x, err)
	}
}

func (e *env) publish(x, key, body string) PublishResult {
	e.t.Helper()
	m, err := NewMessage(x, key, noProps, []byte(body))
	if err != nil {
		e.t.Fatal(err)
	}
	r, aerr := e.s.Publish(x, key, false, m)
	if aerr != nil {
		e.t.Fatalf("publish: %v", aerr)
	}
	return r
}

func (e *env) publishMsg(x, key string, m *Message) PublishResult {
	e.t.Helper()
	m.Exchange, m.RoutingKey = x, key
	r, err := e.s.Publish(x, key, false, m)
	if err != nil {
		e.t.Fatalf("publish: %v", err)
	}
	return r
}

func (e *env) consume(s *Session, q string, noAck bool) string {
	e.t.Helper()
	tag, err := s.Consume(ConsumeSpec{Queue: q, NoAck: noAck}, nil)
	if err != nil {
		e.t.Fatalf("consume %q: %v", q, err)
	}
	return tag
}

func (e *env) ready(q string) int {
	e.t.Helper()
	info, ok := e.v.Queue(q)
	if !ok {
		e.t.Fatalf("no queue %q", q)
	}
	return info.MessagesReady
}

// get fetches one message body from q with basic.get, "" when empty.
func (e *env) get(s *Session, k *sink, q string, noAck bool) (string, Delivery) {
	e.t.Helper()
	ok, err := s.Get(q, noAck)
	if err != nil {
		e.t.Fatalf("get %q: %v", q, err)
	}
	if !ok {
		return "", Delivery{}
	}
	ds := k.take()
	if len(ds) != 1 || !ds[0].Get {
		e.t.Fatalf("get delivered %+v", ds)
	}
	return string(ds[0].Message.Body), ds[0]
}

func bodies(ds []Delivery) string {
	var b []string
	for _, d := range ds {
		b = append(b, string(d.Message.Body))
	}
	return strings.Join(b, ",")
}

// wantErr checks that err is an *amqp.Error with code and full text, and
// returns it.
func wantErr(t *testing.T, err error, code uint16, text string) *amqp.Error {
	t.Helper()
	var e *amqp.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want %d %q", err, code, text)
	}
	if e.Code != code || e.Text != text {
		t.Fatalf("got %d %q\nwant %d %q", e.Code, e.Text, code, text)
	}
	return e
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}
