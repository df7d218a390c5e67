package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// consumerOptions configure a consumer.
type consumerOptions struct {
	Acks     bool
	Durable  bool    // declare the queue durable
	Prefetch uint16  // basic.qos prefetch-count when Acks (0: none)
	Rate     float64 // messages per second at most (0: as fast as possible)
}

// consumer receives from one queue, records end-to-end latency and acks.
type consumer struct {
	*rawClient
	opts consumerOptions
	hist histogram
}

// dialConsumer declares queue and starts consuming from it.
func dialConsumer(ctx context.Context, ep endpoint, heartbeat uint16, queue string, o consumerOptions) (*consumer, error) {
	c, err := dialClient(ctx, ep, heartbeat)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	type step struct {
		req  []byte
		want uint32
		name string
	}
	var bits byte
	if o.Durable {
		bits = declareDurable
	}
	steps := []step{{appendQueueDeclare(nil, 1, queue, bits), idQueueDeclareOk, "queue.declare-ok"}}
	if o.Acks && o.Prefetch > 0 {
		steps = append(steps, step{appendBasicQos(nil, 1, o.Prefetch), idBasicQosOk, "basic.qos-ok"})
	}
	for _, s := range steps {
		if err := c.call(s.req, s.want, s.name); err != nil {
			c.close()
			return nil, fmt.Errorf("consumer: %w", err)
		}
	}
	if _, err := c.w.Write(appendBasicConsume(nil, 1, queue, "beatbench", !o.Acks)); err != nil {
		c.close()
		return nil, fmt.Errorf("consumer: %w", err)
	}
	return &consumer{rawClient: c, opts: o}, nil
}

// consume reads deliveries until stopReading or a failure.
func (c *consumer) consume(backlog *gate, st *flowStats) error {
	var (
		ack      []byte
		tag      uint64
		left     uint64
		head     [16]byte
		headN    int
		paceFrom = time.Now()
		paced    int64
	)
	complete := func() {
		now := nowNanos()
		if now >= st.recordFrom.Load() && now < st.recordTo.Load() {
			c.hist.record(time.Duration(now - int64(binary.BigEndian.Uint64(head[:8]))))
		}
		st.consumed.Add(1)
		backlog.release(1)
		if c.opts.Acks {
			ack = appendBasicAck(ack, 1, tag, false)
		}
	}
	for {
		typ, _, payload, err := c.fr.read()
		if err != nil {
			if c.stopping.Load() && len(ack) > 0 {
				// Stopped mid-read: ack what was counted as consumed.
				_, _ = c.w.Write(ack)
			}
			return c.readErr(err)
		}
		done := false
		switch typ {
		case frameMethod:
			id, r, err := methodOf(payload)
			if err != nil {
				return err
			}
			switch id {
			case idBasicDeliver:
				if tag, err = parseDeliver(r); err != nil {
					return err
				}
				headN = 0
			case idConnectionClose, idChannelClose:
				return parseClose(r)
			}
		case frameHeader:
			size, err := contentBodySize(payload)
			if err != nil {
				return err
			}
			left = size
			if size == 0 {
				complete()
				done = true
			}
		case frameBody:
			if headN < len(head) {
				headN += copy(head[headN:], payload)
			}
			left -= uint64(len(payload))
			if left == 0 {
				complete()
				done = true
			}
		}
		if len(ack) > 0 && (c.fr.r.Buffered() == 0 || len(ack) >= 32<<10 || c.opts.Rate > 0) {
			if _, err := c.w.Write(ack); err != nil {
				return c.readErr(err)
			}
			ack = ack[:0]
		}
		if done && c.opts.Rate > 0 {
			paced++
			due := paceFrom.Add(time.Duration(float64(paced) / c.opts.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
}
