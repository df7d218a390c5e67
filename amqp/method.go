package amqp

import "encoding/binary"

// Method is one AMQP method with its arguments: a pointer to one of the
// generated structs such as *BasicPublish. Only this package implements it.
type Method interface {
	// ClassID returns the class id, such as 60 for basic.
	ClassID() uint16
	// MethodID returns the method id within the class.
	MethodID() uint16
	// Name returns the spec's name, such as "connection.tune-ok".
	Name() string
	// HasContent reports whether a content header and body follow the method.
	HasContent() bool
	// Synchronous reports whether the method is a request that expects an
	// answer (see IsResponse).
	Synchronous() bool

	// read decodes the arguments; the reader goes in and out by value so that
	// it stays on the stack behind the interface call.
	read(r reader) reader
	write(b []byte) []byte
}

// ReadMethod decodes the payload of a method frame: class id, method id and
// arguments. The method does not alias payload.
//
// Errors are *Error:
//   - a payload shorter than 4 octets: 501 "FRAME_ERROR - type 1, all octets =
//     <<0,20>>: unknown_frame", class and method 0, as RabbitMQ's reader;
//   - ids the protocol does not define: 540 "NOT_IMPLEMENTED - unknown method
//     class-id 99 method-id 99", with those ids (RabbitMQ drops the socket);
//   - arguments that are short, have trailing octets or hold a bad table: 501
//     "FRAME_ERROR - cannot decode <<...>>" against the method, as RabbitMQ's
//     rabbit_misc:frame_error/2.
func ReadMethod(payload []byte) (Method, error) {
	return readMethod(payload, nil)
}

func readMethod(payload []byte, cache *stringCache) (Method, error) {
	if len(payload) < 4 {
		return nil, unknownFrameError(1, payload)
	}
	classID := binary.BigEndian.Uint16(payload)
	methodID := binary.BigEndian.Uint16(payload[2:])
	m := newMethod(classID, methodID)
	if m == nil {
		return nil, unknownMethodError(classID, methodID)
	}
	if err := decodeArgs(m, payload[4:], cache); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeArgs(m Method, args []byte, cache *stringCache) error {
	r := m.read(reader{b: args, cache: cache})
	if r.bad || r.off != len(args) {
		return decodeError(m, args)
	}
	return nil
}

// AppendMethod appends the payload of a method frame for m (class id, method
// id, arguments) to dst. It does not allocate when dst has room.
func AppendMethod(dst []byte, m Method) []byte {
	dst = appendShort(dst, m.ClassID())
	dst = appendShort(dst, m.MethodID())
	return m.write(dst)
}

// Decoder decodes method frames like ReadMethod, for one connection, without
// allocating in steady state: it keeps one value each of basic.publish,
// basic.ack, basic.nack and basic.reject and hands out that value again on
// every call, and it remembers recently decoded short strings, so a publisher
// that sends to the same exchange and routing key again and again costs no
// allocation.
//
// A *BasicPublish, *BasicAck, *BasicNack or *BasicReject it returns is valid
// only until the next call of ReadMethod: copy what must outlive it. Other
// methods are freshly allocated, as from ReadMethod. The zero Decoder is ready
// to use; it is not safe for concurrent use.
type Decoder struct {
	publish BasicPublish
	ack     BasicAck
	nack    BasicNack
	reject  BasicReject
	strs    stringCache
}

// ReadMethod decodes a method frame payload; errors are those of ReadMethod.
func (d *Decoder) ReadMethod(payload []byte) (Method, error) {
	if len(payload) >= 4 {
		var m Method
		switch binary.BigEndian.Uint32(payload) {
		case 60<<16 | 40:
			d.publish = BasicPublish{}
			m = &d.publish
		case 60<<16 | 80:
			d.ack = BasicAck{}
			m = &d.ack
		case 60<<16 | 120:
			d.nack = BasicNack{}
			m = &d.nack
		case 60<<16 | 90:
			d.reject = BasicReject{}
			m = &d.reject
		}
		if m != nil {
			if err := decodeArgs(m, payload[4:], &d.strs); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	return readMethod(payload, &d.strs)
}
