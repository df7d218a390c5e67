package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// A clean close by amqp091-go: one info line, reason client_close.
func TestCleanClose(t *testing.T) {
	b := start(t, unit)
	c, err := amqp091.DialConfig(b.URL(), amqp091.Config{Heartbeat: 2 * time.Second, Properties: amqp091.Table{"connection_name": "clean"}})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	_ = ch
	info, _ := b.Conn("clean")
	if info.Heartbeat != 2 || info.Channels != 1 || info.User != "guest" || info.VHost != "/" {
		t.Fatalf("info %+v", info)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	id := info.ID
	name := info.Name + " - clean"
	wantLog(t, b, fmt.Sprintf("[info] %s accepting AMQP connection %s (%s)", id, id, info.Name))
	wantLog(t, b, fmt.Sprintf("[info] %s connection %s (%s) has a client-provided name: clean", id, id, info.Name))
	wantLog(t, b, fmt.Sprintf("[info] %s connection %s (%s): user 'guest' authenticated and granted access to vhost '/'", id, id, name))
	wantLog(t, b, fmt.Sprintf("[info] %s closing AMQP connection %s (%s, vhost: '/', user: 'guest')", id, id, name))
	if info := ended(t, b, id); info.Reason != broker.ReasonClientClose || info.CloseCode != 200 {
		t.Fatalf("final %+v", info)
	}
	noLog(t, b, "[warning]")
	noLog(t, b, "[error]")
}

// The client closes TCP without connection.close.
func TestUnexpectedClose(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("gone", 0)
	id := connID(t, b, r)
	_ = r.Conn.Close()
	wantLog(t, b, fmt.Sprintf("[warning] %s closing AMQP connection %s (%s - gone, vhost: '/', user: 'guest'):", id, id, connName(b, r)))
	wantLog(t, b, fmt.Sprintf("[warning] %s client unexpectedly closed TCP connection", id))
	if info := ended(t, b, id); info.Reason != broker.ReasonUnexpectedClose {
		t.Fatalf("reason %v", info.Reason)
	}

	r2 := brokertest.DialRaw(t, b.Addr())
	r2.SendProtocolHeader()
	brokertest.Expect[*amqp.ConnectionStart](r2, time.Second)
	id2 := connID(t, b, r2)
	name2 := connName(b, r2)
	_ = r2.Conn.Close()
	wantLog(t, b, fmt.Sprintf("[warning] %s closing AMQP connection %s (%s):", id2, id2, name2))
}

// A TCP connect and close with no byte sent is a health check: nothing at info.
func TestHealthCheck(t *testing.T) {
	b := start(t, unit)
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr()
	_ = c.Close()
	info, ok := b.WaitClosed(local, 2*time.Second)
	if !ok || info.Reason != broker.ReasonHealthCheck {
		t.Fatalf("info %+v", info)
	}
	wantLog(t, b, fmt.Sprintf("[debug] %s accepting AMQP connection %s (%s -> %s)", info.ID, info.ID, local, b.Addr()))
	noLog(t, b, "[info] "+info.ID)
}

// Shutdown: connection.close 320 "CONNECTION_FORCED - broker shutdown", then
// the close handshake; a client that never answers is reset when ctx ends.
func TestShutdown(t *testing.T) {
	b, err := brokertest.Start(brokertest.WithLogs(), brokertest.WithHeartbeatUnit(unit))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := amqp091.Dial(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("mute", 0)
	hs := brokertest.DialRaw(t, b.Addr()) // still in the handshake
	hs.SendProtocolHeader()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = b.Server().Shutdown(ctx) // TestSynctestShutdown: returns exactly at the deadline
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline (one client never answers)", err)
	}
	select {
	case e := <-closed:
		if e == nil || e.Code != 320 || e.Reason != "CONNECTION_FORCED - broker shutdown" || !e.Server {
			t.Fatalf("amqp091 close %+v", e)
		}
	case <-time.After(time.Second):
		t.Fatal("amqp091 connection not closed")
	}
	expectClose(t, r, 320, "CONNECTION_FORCED - broker shutdown", 0, 0)
	if kind, _, _ := r.WaitClosed(time.Second); kind == brokertest.NotClosed {
		t.Fatal("mute client still connected")
	}
	if len(b.Connections()) != 0 {
		t.Fatalf("connections left: %+v", b.Connections())
	}
	for _, info := range b.ClosedConnections() {
		if info.Reason != broker.ReasonForced {
			t.Fatalf("%s ended with %v", info.ID, info.Reason)
		}
	}
	if _, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		t.Fatal("still listening")
	}
	logs := b.Logs().String()
	for _, want := range []string{"stopped TCP listener on " + b.Addr(),
		`operation none caused a connection exception connection_forced: "broker shutdown"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %q:\n%s", want, logs)
		}
	}
}

// Graceful shutdown with well-behaved clients returns once they answered.
func TestShutdownGraceful(t *testing.T) {
	b, err := brokertest.Start(brokertest.WithHeartbeatUnit(unit))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for range 5 {
		c, err := amqp091.Dial(b.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Server().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// CloseConnection is what the management API's DELETE uses.
func TestCloseConnection(t *testing.T) {
	b := start(t, unit)
	c, err := amqp091.DialConfig(b.URL(), amqp091.Config{Properties: amqp091.Table{"connection_name": "victim"}})
	if err != nil {
		t.Fatal(err)
	}
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	info, _ := b.Conn("victim")
	if !b.Server().CloseConnection(info.Name, "Closed via management plugin") {
		t.Fatal("connection not found")
	}
	if e := <-closed; e == nil || e.Code != 320 || e.Reason != "CONNECTION_FORCED - Closed via management plugin" {
		t.Fatalf("close %+v", e)
	}
	if b.Server().CloseConnection("nobody", "x") {
		t.Fatal("found a connection that does not exist")
	}
	if info := ended(t, b, info.ID); info.Reason != broker.ReasonForced {
		t.Fatalf("reason %v", info.Reason)
	}
}

// 1,000 connect/close cycles leave no goroutine and no file descriptor behind.
func TestNoLeaksOverCycles(t *testing.T) {
	b := start(t, unit)
	c, err := amqp091.Dial(b.URL()) // warm up pools and the first connection's state
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	settle := func() (int, int) {
		var g, fds int
		for range 100 {
			runtime.GC()
			g, fds = runtime.NumGoroutine(), openFDs(t)
			if len(b.Connections()) == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return g, fds
	}
	g0, fd0 := settle()
	cycles := 1000
	if testing.Short() {
		cycles = 100
	}
	for i := range cycles {
		c, err := amqp091.DialConfig(b.URL(), amqp091.Config{Heartbeat: time.Second})
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("cycle %d: close: %v", i, err)
		}
	}
	var g1, fd1 int
	for range 200 {
		g1, fd1 = settle()
		if g1 <= g0 && fd1 <= fd0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if g1 > g0 || fd1 > fd0 {
		t.Fatalf("after %d cycles: goroutines %d -> %d, fds %d -> %d", cycles, g0, g1, fd0, fd1)
	}
	if n := len(b.ClosedConnections()); n == 0 {
		t.Fatal("no closed connections recorded")
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}
