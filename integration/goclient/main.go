// Command goclient is the amqp091-go scenario program of beatmq's interop suite.
// The Go tests in integration/ build and run it like the other languages'
// programs: it prints {"event":"open",...} once the connection is open, then one
// {"event":"result",...} line.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const client = "go"

type options struct {
	host, scenario, name, queue string
	tlsCA                       string
	port, heartbeat, count      int
	seconds, every              float64
}

func main() {
	var o options
	flag.StringVar(&o.host, "host", "127.0.0.1", "broker host")
	flag.IntVar(&o.port, "port", 5672, "broker port")
	flag.StringVar(&o.scenario, "scenario", "", "roundtrip, hold, idle, dead or watch")
	flag.IntVar(&o.heartbeat, "heartbeat", 60, "heartbeat asked for, in seconds (sent as ?heartbeat=N)")
	flag.StringVar(&o.name, "name", "go", "connection_name client property")
	flag.StringVar(&o.queue, "queue", "", "queue name")
	flag.IntVar(&o.count, "count", 1000, "messages to publish")
	flag.Float64Var(&o.seconds, "seconds", 4, "idle: how long to stay idle; hold/dead/watch: upper bound")
	flag.Float64Var(&o.every, "every", 0, "watch: seconds between two published messages (0: none)")
	flag.StringVar(&o.tlsCA, "tls-ca", "", "connect with amqps, trusting this CA (PEM file)")
	flag.Parse()

	res := map[string]any{"event": "result", "client": client, "scenario": o.scenario, "closed": false}
	var err error
	switch o.scenario {
	case "roundtrip":
		err = roundtrip(o, res)
	case "hold":
		err = hold(o, res)
	case "idle":
		err = idle(o, res)
	case "dead":
		err = dead(o, res)
	case "watch":
		err = watch(o, res)
	default:
		err = fmt.Errorf("unknown scenario %q", o.scenario)
	}
	if err != nil {
		res["t_error"] = now()
		putError(res, err)
	}
	res["t_end"] = now()
	emit(res)
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func putError(res map[string]any, err error) {
	res["error"] = err.Error()
	res["error_type"] = fmt.Sprintf("%T", err)
}

func payload(i int) string { return fmt.Sprintf("msg-%05d", i) }

// connect dials with the heartbeat in the URI: amqp091-go reads Config.Heartbeat
// 0 as "use my default of 10 s", so ?heartbeat=N is the only way to ask for 0.
type conn struct {
	*amqp.Connection
	ch     *amqp.Channel
	closed chan *amqp.Error
}

func connect(o options, res map[string]any) (*conn, error) {
	cfg := amqp.Config{
		Properties: amqp.Table{"connection_name": o.name},
		Dial:       amqp.DefaultDial(10 * time.Second),
	}
	scheme := "amqp"
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", o.tlsCA)
		}
		scheme, cfg.TLSClientConfig = "amqps", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	url := fmt.Sprintf("%s://guest:guest@%s:%d/?heartbeat=%d", scheme, o.host, o.port, o.heartbeat)
	c, err := amqp.DialConfig(url, cfg)
	if err != nil {
		return nil, err
	}
	hb := int(c.Config.Heartbeat / time.Second) // the value sent in tune-ok
	res["heartbeat"] = hb
	cn := &conn{Connection: c, closed: c.NotifyClose(make(chan *amqp.Error, 1))}
	// Open a channel before announcing "open": the driver may cut the
	// connection as soon as it reads that line.
	if cn.ch, err = c.Channel(); err != nil {
		return nil, err
	}
	emit(map[string]any{"event": "open", "client": client, "heartbeat": hb, "library": library(), "t": now()})
	return cn, nil
}

// stdinStop is closed when stdin delivers a line or reaches EOF.
func stdinStop() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(ch)
	}()
	return ch
}

func roundtrip(o options, res map[string]any) error {
	c, err := connect(o, res)
	if err != nil {
		return err
	}
	ch := c.ch
	if _, err := ch.QueueDeclare(o.queue, false, false, true, false, nil); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	confs := make([]*amqp.DeferredConfirmation, 0, o.count)
	for i := 0; i < o.count; i++ {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", o.queue, false, false, amqp.Publishing{Body: []byte(payload(i))})
		if err != nil {
			return err
		}
		confs = append(confs, dc)
	}
	res["published"] = len(confs)
	confirmed := 0
	for _, dc := range confs {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return err
		}
		if ok {
			confirmed++
		}
	}
	res["confirmed"] = confirmed
	if err := ch.Qos(100, 0, false); err != nil {
		return err
	}
	deliveries, err := ch.Consume(o.queue, "goclient", false, false, false, false, nil)
	if err != nil {
		return err
	}
	received, bad := 0, 0
	timeout := time.After(10 * time.Second)
loop:
	for received < o.count {
		select {
		case d, ok := <-deliveries:
			if !ok {
				break loop
			}
			if string(d.Body) != payload(received) {
				bad++
			}
			received++
			if err := d.Ack(false); err != nil {
				return err
			}
		case <-timeout:
			break loop
		}
	}
	if err := ch.Cancel("goclient", false); err != nil {
		return err
	}
	res["received"], res["payload_errors"] = received, bad
	if err := c.Close(); err != nil {
		return err
	}
	res["closed"] = true
	return nil
}

func hold(o options, res map[string]any) error {
	c, err := connect(o, res)
	if err != nil {
		return err
	}
	select {
	case <-stdinStop():
	case <-time.After(time.Duration(o.seconds * float64(time.Second))):
	case e := <-c.closed:
		return e
	}
	res["alive"] = !c.IsClosed()
	if err := c.Close(); err != nil {
		return err
	}
	res["closed"] = true
	return nil
}

func idle(o options, res map[string]any) error {
	c, err := connect(o, res)
	if err != nil {
		return err
	}
	ch := c.ch
	select {
	case <-time.After(time.Duration(o.seconds * float64(time.Second))):
	case e := <-c.closed:
		return e
	}
	if _, err := ch.QueueDeclare("", false, false, true, false, nil); err != nil {
		return err
	}
	res["alive"] = !c.IsClosed()
	if err := c.Close(); err != nil {
		return err
	}
	res["closed"] = true
	return nil
}

func dead(o options, res map[string]any) error {
	c, err := connect(o, res)
	if err != nil {
		return err
	}
	select {
	case e := <-c.closed:
		res["t_detect"] = now()
		res["alive"] = false
		if e == nil {
			e = &amqp.Error{Reason: "connection closed without an error"}
		}
		putError(res, e)
		return nil
	case <-stdinStop():
	case <-time.After(time.Duration(o.seconds * float64(time.Second))):
	}
	res["alive"] = !c.IsClosed()
	if err := c.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return err
	}
	res["closed"] = true
	return nil
}
