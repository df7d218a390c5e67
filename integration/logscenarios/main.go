// Command logscenarios drives one broker (beatmq or RabbitMQ) through the
// connection scenarios whose log lines `beatmqctl inspect-log` summarises:
// clean closes, abrupt TCP closes, missed heartbeats, handshake timeouts and
// authentication failures, with and without a connection_name. It speaks
// AMQP with raw frames, so every scenario is exactly the same against both
// brokers, and it binds each scenario's socket to its own loopback source
// address (127.0.0.1 to 127.0.0.5), so that the per-host summary has several
// hosts.
//
//	go run ./integration/logscenarios --addr 127.0.0.1:5672
//
// It prints one line per scenario and exits 0 when every scenario saw the
// broker react as expected (the broker closed the socket where it should), 1
// otherwise. It takes about 12 s: the scenarios run concurrently and the
// longest is the 10 s handshake timeout. The expected per-client and per-host
// counts are in cmd/beatmqctl/testdata/README.md, which also tells how the
// logs there were captured with it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames"
)

// scenario is one client's script.
type scenario struct {
	name   string // what it shows
	source string // local IP to connect from
	run    func(c *client) error
}

// scenarios are run concurrently; each is independent.
var scenarios = []scenario{
	{"clean close, named", "127.0.0.1", func(c *client) error {
		return c.openAndClose("logscen-clean")
	}},
	{"clean close, unnamed", "127.0.0.2", func(c *client) error {
		return c.openAndClose("")
	}},
	{"clean close, named, second connection", "127.0.0.2", func(c *client) error {
		return c.openAndClose("logscen-clean")
	}},
	{"abrupt TCP close after open, named", "127.0.0.3", func(c *client) error {
		if err := c.open("logscen-abrupt", 0); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
		return c.conn.Close() // FIN without connection.close
	}},
	{"abrupt TCP close after open, unnamed", "127.0.0.3", func(c *client) error {
		if err := c.open("", 0); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
		return c.conn.Close()
	}},
	{"missed heartbeats, heartbeat 1, named", "127.0.0.4", func(c *client) error {
		if err := c.open("logscen-hb1", 1); err != nil {
			return err
		}
		return c.expectClosedBy(6 * time.Second) // 3T = 3 s
	}},
	{"missed heartbeats, heartbeat 2, unnamed", "127.0.0.4", func(c *client) error {
		if err := c.open("", 2); err != nil {
			return err
		}
		return c.expectClosedBy(10 * time.Second) // 3T = 6 s
	}},
	{"handshake timeout, silent after connect", "127.0.0.5", func(c *client) error {
		return c.expectClosedBy(14 * time.Second) // 10 s
	}},
	{"handshake timeout, silent after the protocol header", "127.0.0.5", func(c *client) error {
		if _, err := c.conn.Write(frames.ProtocolHeader[:]); err != nil {
			return err
		}
		return c.expectClosedBy(14 * time.Second)
	}},
	{"authentication failure, named", "127.0.0.1", func(c *client) error {
		return c.badPassword("logscen-badpass")
	}},
	{"authentication failure, unnamed", "127.0.0.2", func(c *client) error {
		return c.badPassword("")
	}},
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5672", "broker AMQP address")
	flag.Parse()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		fail bool
	)
	for i, s := range scenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Staggered starts keep the order of the log lines stable.
			time.Sleep(time.Duration(i) * 150 * time.Millisecond)
			err := runScenario(*addr, s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fail = true
				fmt.Printf("FAIL %-55s %v\n", s.name, err)
				return
			}
			fmt.Printf("ok   %s\n", s.name)
		}()
	}
	wg.Wait()
	if fail {
		os.Exit(1)
	}
}

func runScenario(addr string, s scenario) error {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(s.source)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	return s.run(&client{conn: nc, rd: frames.NewReader(nc)})
}

// client is a raw AMQP 0-9-1 client: it writes exactly the frames a scenario
// asks for and never sends a heartbeat.
type client struct {
	conn net.Conn
	rd   *frames.Reader
}

func (c *client) send(ch uint16, m amqp.Method) error {
	p := amqp.AppendMethod(nil, m)
	n := uint32(len(p))
	b := append([]byte{frames.TypeMethod, byte(ch >> 8), byte(ch), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, p...)
	_, err := c.conn.Write(append(b, frames.FrameEnd))
	return err
}

// expect reads methods (skipping heartbeats) until one arrives, within 5 s.
func (c *client) expect() (amqp.Method, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 100 {
		f, err := c.rd.ReadFrame()
		if err != nil {
			return nil, err
		}
		if f.Type == frames.TypeMethod {
			return amqp.ReadMethod(f.Payload)
		}
	}
	return nil, errors.New("no method in 100 frames")
}

// startOk sends the protocol header and answers connection.start.
func (c *client) startOk(name, password string) error {
	if _, err := c.conn.Write(frames.ProtocolHeader[:]); err != nil {
		return err
	}
	if m, err := c.expect(); err != nil {
		return err
	} else if _, ok := m.(*amqp.ConnectionStart); !ok {
		return fmt.Errorf("got %s, want connection.start", m.Name())
	}
	props := amqp.Table{{Name: "product", Value: "logscenarios"},
		{Name: "capabilities", Value: amqp.Table{{Name: "authentication_failure_close", Value: true}}}}
	if name != "" {
		props = append(props, amqp.Field{Name: "connection_name", Value: name})
	}
	return c.send(0, &amqp.ConnectionStartOk{ClientProperties: props, Mechanism: "PLAIN",
		Response: "\x00guest\x00" + password, Locale: "en_US"})
}

// open runs the handshake as guest with heartbeat hb up to open-ok.
func (c *client) open(name string, hb uint16) error {
	if err := c.startOk(name, "guest"); err != nil {
		return err
	}
	m, err := c.expect()
	if err != nil {
		return err
	}
	tune, ok := m.(*amqp.ConnectionTune)
	if !ok {
		return fmt.Errorf("got %s, want connection.tune", m.Name())
	}
	if err := c.send(0, &amqp.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: tune.FrameMax, Heartbeat: hb}); err != nil {
		return err
	}
	if err := c.send(0, &amqp.ConnectionOpen{VirtualHost: "/"}); err != nil {
		return err
	}
	if m, err = c.expect(); err != nil {
		return err
	} else if _, ok := m.(*amqp.ConnectionOpenOk); !ok {
		return fmt.Errorf("got %s, want connection.open-ok", m.Name())
	}
	return nil
}

// openAndClose opens, then closes with connection.close and waits for close-ok.
func (c *client) openAndClose(name string) error {
	if err := c.open(name, 0); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	if err := c.send(0, &amqp.ConnectionClose{ReplyCode: 200, ReplyText: "bye"}); err != nil {
		return err
	}
	m, err := c.expect()
	if err != nil {
		return err
	}
	if _, ok := m.(*amqp.ConnectionCloseOk); !ok {
		return fmt.Errorf("got %s, want connection.close-ok", m.Name())
	}
	return nil
}

// badPassword sends a wrong password, answers the broker's connection.close
// with close-ok and waits for the broker to close the socket.
func (c *client) badPassword(name string) error {
	if err := c.startOk(name, "wrong-password"); err != nil {
		return err
	}
	m, err := c.expect()
	if err != nil {
		return err
	}
	cl, ok := m.(*amqp.ConnectionClose)
	if !ok || cl.ReplyCode != 403 {
		return fmt.Errorf("got %s %+v, want connection.close 403", m.Name(), m)
	}
	if err := c.send(0, &amqp.ConnectionCloseOk{}); err != nil {
		return err
	}
	return c.expectClosedBy(5 * time.Second)
}

// expectClosedBy reads until the broker closes the socket; an error if it is
// still open after d.
func (c *client) expectClosedBy(d time.Duration) error {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.conn.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("the broker had not closed the socket after %v", d)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return nil
		}
		return err
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read"
}
