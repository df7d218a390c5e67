package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// library names the client library and its version, for the fault matrix.
func library() string {
	v := "(unknown version)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/rabbitmq/amqp091-go" {
				v = d.Version
			}
		}
	}
	return fmt.Sprintf("amqp091-go %s (%s)", v, runtime.Version())
}

// watchDrain is how long watch waits, once told to stop, for the messages it
// published to come back.
const watchDrain = 5 * time.Second

// watch keeps the connection open while the fault matrix injects a fault: it
// consumes its own exclusive queue (no acks) and publishes a message to it
// every o.every seconds (none if 0). When the library reports the connection
// lost, it records t_detect and the error at once; when stdin says stop or
// o.seconds pass, it waits up to watchDrain for what it published (the
// counters show what did not come back) and reports the connection alive or
// not. Counters: published, received, max_delay (the
// longest publish-to-delivery time, seconds).
func watch(o options, res map[string]any) error {
	c, err := connect(o, res)
	if err != nil {
		return err
	}
	ch := c.ch
	if _, err := ch.QueueDeclare(o.queue, false, true, true, false, nil); err != nil {
		return err
	}
	deliveries, err := ch.Consume(o.queue, "", true, false, false, false, nil)
	if err != nil {
		return err
	}
	var sent []time.Time
	received, maxDelay := 0, 0.0
	record := func() {
		res["published"], res["received"], res["max_delay"] = len(sent), received, maxDelay
	}
	lost := func(e error) error {
		res["t_detect"] = now()
		res["alive"] = false
		if e == nil {
			e = &amqp.Error{Reason: "connection closed without an error"}
		}
		putError(res, e)
		record()
		return nil
	}
	deliver := func(d amqp.Delivery) {
		if i, err := strconv.Atoi(string(d.Body)); err == nil && i >= 0 && i < len(sent) {
			maxDelay = max(maxDelay, time.Since(sent[i]).Seconds())
		}
		received++
	}
	var tick <-chan time.Time
	if o.every > 0 {
		t := time.NewTicker(time.Duration(o.every * float64(time.Second)))
		defer t.Stop()
		tick = t.C
	}
	stop := stdinStop()
	bound := time.After(time.Duration(o.seconds * float64(time.Second)))
watching:
	for {
		select {
		case e := <-c.closed:
			return lost(amqpErr(e))
		case d, ok := <-deliveries:
			if !ok {
				return lost(closedErr(c))
			}
			deliver(d)
		case <-tick:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := ch.PublishWithContext(ctx, "", o.queue, false, false, amqp.Publishing{Body: []byte(strconv.Itoa(len(sent)))})
			cancel()
			if err != nil {
				// A publish fails once the connection is closed; the close
				// notification carries the cause.
				t := now()
				select {
				case e := <-c.closed:
					if e != nil {
						err = e
					}
				case <-time.After(time.Second):
				}
				lost(err)
				res["t_detect"] = t
				return nil
			}
			sent = append(sent, time.Now())
		case <-stop:
			break watching
		case <-bound:
			break watching
		}
	}
	drain := time.After(watchDrain)
draining:
	for received < len(sent) {
		select {
		case e := <-c.closed:
			return lost(amqpErr(e))
		case d, ok := <-deliveries:
			if !ok {
				return lost(closedErr(c))
			}
			deliver(d)
		case <-drain:
			break draining
		}
	}
	record()
	res["alive"] = !c.IsClosed()
	if err := c.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return err
	}
	res["closed"] = true
	return nil
}

// closedErr is the connection's close error once its deliveries channel has
// closed (nil if none arrives within a second: a channel-level close).
func closedErr(c *conn) error {
	select {
	case e := <-c.closed:
		if e != nil {
			return e
		}
		return nil
	case <-time.After(time.Second):
	}
	return errors.New("the delivery channel closed")
}

// amqpErr turns a close notification into an error (nil for a nil pointer).
func amqpErr(e *amqp.Error) error {
	if e == nil {
		return nil
	}
	return e
}
