package main

// A minimal AMQP 0-9-1 codec for the load tool's raw clients: just the methods
// they send and the fields they read. The tool keeps its own so that what it
// measures does not depend on the broker's codec.

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame types and the frame-end octet.
const (
	frameMethod    = 1
	frameHeader    = 2
	frameBody      = 3
	frameHeartbeat = 8
	frameEnd       = 0xCE
)

// classBasic is the basic class id, which content headers carry.
const classBasic = 60

var protocolHeader = []byte{'A', 'M', 'Q', 'P', 0, 0, 9, 1}

// heartbeatFrame is a complete heartbeat frame.
var heartbeatFrame = []byte{frameHeartbeat, 0, 0, 0, 0, 0, 0, frameEnd}

// methodID packs a class and method id into one comparable value.
func methodID(class, method uint16) uint32 { return uint32(class)<<16 | uint32(method) }

// Method ids the raw clients read.
var (
	idConnectionStart     = methodID(10, 10)
	idConnectionTune      = methodID(10, 30)
	idConnectionOpenOk    = methodID(10, 41)
	idConnectionClose     = methodID(10, 50)
	idConnectionCloseOk   = methodID(10, 51)
	idConnectionBlocked   = methodID(10, 60)
	idConnectionUnblocked = methodID(10, 61)
	idChannelOpenOk       = methodID(20, 11)
	idChannelClose        = methodID(20, 40)
	idQueueDeclareOk      = methodID(50, 11)
	idQueueDeleteOk       = methodID(50, 41)
	idBasicQosOk          = methodID(60, 11)
	idBasicDeliver        = methodID(60, 60)
	idBasicGetOk          = methodID(60, 71)
	idBasicGetEmpty       = methodID(60, 72)
	idBasicAck            = methodID(60, 80)
	idBasicNack           = methodID(60, 120)
	idConfirmSelectOk     = methodID(85, 11)
)

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func appendShortStr(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(b, byte(len(s))), s...)
}

func appendLongStr(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

// beginFrame appends a frame header with a zero size; endFrame patches the size
// and appends the frame-end octet.
func beginFrame(b []byte, typ uint8, ch uint16) ([]byte, int) {
	b = append(b, typ)
	b = appendU16(b, ch)
	start := len(b)
	return appendU32(b, 0), start
}

func endFrame(b []byte, sizeAt int) []byte {
	binary.BigEndian.PutUint32(b[sizeAt:], uint32(len(b)-sizeAt-4))
	return append(b, frameEnd)
}

// appendMethod appends a method frame whose arguments args appends.
func appendMethod(b []byte, ch, class, method uint16, args func([]byte) []byte) []byte {
	b, at := beginFrame(b, frameMethod, ch)
	b = appendU16(b, class)
	b = appendU16(b, method)
	if args != nil {
		b = args(b)
	}
	return endFrame(b, at)
}

// clientProperties is the client-properties table the raw clients send.
func appendClientProperties(b []byte) []byte {
	var t []byte
	t = appendShortStr(t, "product")
	t = append(t, 'S')
	t = appendLongStr(t, "beatbench")
	t = appendShortStr(t, "capabilities")
	t = append(t, 'F')
	var caps []byte
	for _, c := range []string{"basic.nack", "publisher_confirms", "connection.blocked", "consumer_cancel_notify"} {
		caps = appendShortStr(caps, c)
		caps = append(caps, 't', 1)
	}
	t = appendU32(t, uint32(len(caps)))
	t = append(t, caps...)
	b = appendU32(b, uint32(len(t)))
	return append(b, t...)
}

func appendStartOk(b []byte, user, pass string) []byte {
	return appendMethod(b, 0, 10, 11, func(b []byte) []byte {
		b = appendClientProperties(b)
		b = appendShortStr(b, "PLAIN")
		b = appendLongStr(b, "\x00"+user+"\x00"+pass)
		return appendShortStr(b, "en_US")
	})
}

func appendTuneOk(b []byte, channelMax uint16, frameMax uint32, heartbeat uint16) []byte {
	return appendMethod(b, 0, 10, 31, func(b []byte) []byte {
		b = appendU16(b, channelMax)
		b = appendU32(b, frameMax)
		return appendU16(b, heartbeat)
	})
}

func appendConnectionOpen(b []byte, vhost string) []byte {
	return appendMethod(b, 0, 10, 40, func(b []byte) []byte {
		b = appendShortStr(b, vhost)
		b = appendShortStr(b, "")
		return append(b, 0)
	})
}

func appendConnectionClose(b []byte, code uint16, text string) []byte {
	return appendMethod(b, 0, 10, 50, func(b []byte) []byte {
		b = appendU16(b, code)
		b = appendShortStr(b, text)
		b = appendU16(b, 0)
		return appendU16(b, 0)
	})
}

func appendConnectionCloseOk(b []byte) []byte { return appendMethod(b, 0, 10, 51, nil) }

func appendChannelOpen(b []byte, ch uint16) []byte {
	return appendMethod(b, ch, 20, 10, func(b []byte) []byte { return appendShortStr(b, "") })
}

func appendConfirmSelect(b []byte, ch uint16) []byte {
	return appendMethod(b, ch, 85, 10, func(b []byte) []byte { return append(b, 0) })
}

// Bits of queue.declare.
const (
	declarePassive = 1 << 0
	declareDurable = 1 << 1
)

// appendQueueDeclare declares a queue: not exclusive, not auto-delete, with no
// arguments; bits adds declarePassive or declareDurable.
func appendQueueDeclare(b []byte, ch uint16, queue string, bits byte) []byte {
	return appendMethod(b, ch, 50, 10, func(b []byte) []byte {
		b = appendU16(b, 0)
		b = appendShortStr(b, queue)
		b = append(b, bits)
		return appendU32(b, 0)
	})
}

// parseDeclareOk returns the message count of a queue.declare-ok.
func parseDeclareOk(r *fieldReader) (uint32, error) {
	r.skipShortStr() // queue
	n := r.u32()
	return n, r.err
}

func appendBasicGet(b []byte, ch uint16, queue string, noAck bool) []byte {
	return appendMethod(b, ch, 60, 70, func(b []byte) []byte {
		b = appendU16(b, 0)
		b = appendShortStr(b, queue)
		if noAck {
			return append(b, 1)
		}
		return append(b, 0)
	})
}

func appendQueueDelete(b []byte, ch uint16, queue string) []byte {
	return appendMethod(b, ch, 50, 40, func(b []byte) []byte {
		b = appendU16(b, 0)
		b = appendShortStr(b, queue)
		return append(b, 0)
	})
}

func appendBasicQos(b []byte, ch uint16, prefetch uint16) []byte {
	return appendMethod(b, ch, 60, 10, func(b []byte) []byte {
		b = appendU32(b, 0)
		b = appendU16(b, prefetch)
		return append(b, 0)
	})
}

func appendBasicConsume(b []byte, ch uint16, queue, tag string, noAck bool) []byte {
	return appendMethod(b, ch, 60, 20, func(b []byte) []byte {
		b = appendU16(b, 0)
		b = appendShortStr(b, queue)
		b = appendShortStr(b, tag)
		var bits byte
		if noAck {
			bits |= 2
		}
		b = append(b, bits)
		return appendU32(b, 0)
	})
}

func appendBasicAck(b []byte, ch uint16, tag uint64, multiple bool) []byte {
	return appendMethod(b, ch, 60, 80, func(b []byte) []byte {
		b = appendU64(b, tag)
		if multiple {
			return append(b, 1)
		}
		return append(b, 0)
	})
}

// appendPublish appends basic.publish to the default exchange, a content header
// without properties and the body in frames of at most frameMax octets.
func appendPublish(b []byte, ch uint16, routingKey string, body []byte, frameMax int) []byte {
	return appendPublishMode(b, ch, routingKey, body, frameMax, 0)
}

// propDeliveryMode is the delivery-mode bit of basic's property flags.
const propDeliveryMode = 1 << 12

// appendPublishMode is appendPublish with a delivery-mode property (2:
// persistent) when deliveryMode is not 0.
func appendPublishMode(b []byte, ch uint16, routingKey string, body []byte, frameMax int, deliveryMode uint8) []byte {
	b = appendMethod(b, ch, 60, 40, func(b []byte) []byte {
		b = appendU16(b, 0)
		b = appendShortStr(b, "")
		b = appendShortStr(b, routingKey)
		return append(b, 0)
	})
	b, at := beginFrame(b, frameHeader, ch)
	b = appendU16(b, classBasic)
	b = appendU16(b, 0)
	b = appendU64(b, uint64(len(body)))
	if deliveryMode != 0 {
		b = appendU16(b, propDeliveryMode)
		b = append(b, deliveryMode)
	} else {
		b = appendU16(b, 0) // no properties
	}
	b = endFrame(b, at)
	max := frameMax - 8
	if frameMax <= 0 || max <= 0 {
		max = len(body)
	}
	for len(body) > 0 {
		n := min(len(body), max)
		b, at = beginFrame(b, frameBody, ch)
		b = append(b, body[:n]...)
		b = endFrame(b, at)
		body = body[n:]
	}
	return b
}

// errShort reports a method payload shorter than its fields.
var errShort = errors.New("amqp: method payload too short")

// fieldReader reads method arguments in order; the first error sticks.
type fieldReader struct {
	b   []byte
	err error
}

func (r *fieldReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *fieldReader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *fieldReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *fieldReader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *fieldReader) shortStr() string {
	n := int(r.u8())
	return string(r.take(n))
}

// skipShortStr skips a short string without allocating.
func (r *fieldReader) skipShortStr() { r.take(int(r.u8())) }

// methodOf returns the packed class/method id of a method frame payload and a
// reader positioned at its arguments.
func methodOf(payload []byte) (uint32, *fieldReader, error) {
	if len(payload) < 4 {
		return 0, nil, errShort
	}
	id := methodID(binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:]))
	return id, &fieldReader{b: payload[4:]}, nil
}

// tuneParams is the server's connection.tune proposal.
type tuneParams struct {
	ChannelMax uint16
	FrameMax   uint32
	Heartbeat  uint16
}

func parseTune(r *fieldReader) (tuneParams, error) {
	t := tuneParams{ChannelMax: r.u16(), FrameMax: r.u32(), Heartbeat: r.u16()}
	return t, r.err
}

// closeReason is a connection.close or channel.close received from the broker.
type closeReason struct {
	Code uint16
	Text string
}

func (c closeReason) Error() string { return fmt.Sprintf("broker closed: %d %s", c.Code, c.Text) }

func parseClose(r *fieldReader) closeReason {
	return closeReason{Code: r.u16(), Text: r.shortStr()}
}

// parseBlocked returns the reason of a connection.blocked.
func parseBlocked(r *fieldReader) string { return r.shortStr() }

// parseDeliver returns the delivery tag of a basic.deliver.
func parseDeliver(r *fieldReader) (uint64, error) {
	r.skipShortStr() // consumer tag
	tag := r.u64()
	return tag, r.err
}

// parseAck returns the delivery tag and the multiple flag of basic.ack or
// basic.nack.
func parseAck(r *fieldReader) (uint64, bool, error) {
	tag := r.u64()
	bits := r.u8()
	return tag, bits&1 != 0, r.err
}

// contentBodySize returns the body size of a content header payload.
func contentBodySize(payload []byte) (uint64, error) {
	if len(payload) < 12 {
		return 0, errShort
	}
	return binary.BigEndian.Uint64(payload[4:]), nil
}
