package amqp

import (
	"encoding/binary"
	"errors"
	"time"
)

// Property flags: the bit of the content header's property-flags word that
// marks each basic property present, in the spec's order.
const (
	FlagContentType     uint16 = 0x8000
	FlagContentEncoding uint16 = 0x4000
	FlagHeaders         uint16 = 0x2000
	FlagDeliveryMode    uint16 = 0x1000
	FlagPriority        uint16 = 0x0800
	FlagCorrelationID   uint16 = 0x0400
	FlagReplyTo         uint16 = 0x0200
	FlagExpiration      uint16 = 0x0100
	FlagMessageID       uint16 = 0x0080
	FlagTimestamp       uint16 = 0x0040
	FlagType            uint16 = 0x0020
	FlagUserID          uint16 = 0x0010
	FlagAppID           uint16 = 0x0008
	FlagClusterID       uint16 = 0x0004
)

// Properties are the 14 properties of class basic, the content header's
// property list.
type Properties struct {
	// Flags is the property-flags word as read. A property is written when its
	// flag is set here or its value is not the zero value, so a decoded value
	// encodes to the same octets, and a value built in Go needs no flags. The
	// two low bits (continuation and reserved) are kept but, as in RabbitMQ,
	// not acted on.
	Flags uint16

	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string
	MessageID       string
	Timestamp       time.Time
	Type            string
	UserID          string
	AppID           string
	// ClusterID is the reserved last property ("cluster-id" in RabbitMQ's
	// definition, "reserved" in 0-9-1).
	ClusterID string
}

// present returns the flags word to write: p.Flags plus a bit for every
// property with a non-zero value.
func (p *Properties) present() uint16 {
	f := p.Flags
	set := func(bit uint16, on bool) {
		if on {
			f |= bit
		}
	}
	set(FlagContentType, p.ContentType != "")
	set(FlagContentEncoding, p.ContentEncoding != "")
	set(FlagHeaders, p.Headers != nil)
	set(FlagDeliveryMode, p.DeliveryMode != 0)
	set(FlagPriority, p.Priority != 0)
	set(FlagCorrelationID, p.CorrelationID != "")
	set(FlagReplyTo, p.ReplyTo != "")
	set(FlagExpiration, p.Expiration != "")
	set(FlagMessageID, p.MessageID != "")
	set(FlagTimestamp, !p.Timestamp.IsZero())
	set(FlagType, p.Type != "")
	set(FlagUserID, p.UserID != "")
	set(FlagAppID, p.AppID != "")
	set(FlagClusterID, p.ClusterID != "")
	return f
}

// AppendProperties appends the encoded property list of p (flags word, then
// the present properties) to dst.
func AppendProperties(dst []byte, p *Properties) []byte {
	f := p.present()
	dst = appendShort(dst, f)
	str := func(bit uint16, s string) {
		if f&bit != 0 {
			dst = appendShortstr(dst, s)
		}
	}
	str(FlagContentType, p.ContentType)
	str(FlagContentEncoding, p.ContentEncoding)
	if f&FlagHeaders != 0 {
		dst = appendTable(dst, p.Headers)
	}
	if f&FlagDeliveryMode != 0 {
		dst = append(dst, p.DeliveryMode)
	}
	if f&FlagPriority != 0 {
		dst = append(dst, p.Priority)
	}
	str(FlagCorrelationID, p.CorrelationID)
	str(FlagReplyTo, p.ReplyTo)
	str(FlagExpiration, p.Expiration)
	str(FlagMessageID, p.MessageID)
	if f&FlagTimestamp != 0 {
		dst = appendTimestamp(dst, p.Timestamp)
	}
	str(FlagType, p.Type)
	str(FlagUserID, p.UserID)
	str(FlagAppID, p.AppID)
	str(FlagClusterID, p.ClusterID)
	return dst
}

// DecodeProperties decodes a property list (the part of a content header after
// the body size). Octets left over after the last present property are an
// error. All string properties share one allocation; errors are *Error 501
// "FRAME_ERROR - cannot decode <<...>>" with class and method 0.
func DecodeProperties(raw []byte) (Properties, error) {
	var p Properties
	if len(raw) < 2 {
		return p, decodeError(nil, raw)
	}
	f := binary.BigEndian.Uint16(raw)
	p.Flags = f
	// s holds the same octets as raw; string properties are substrings of it,
	// made on the first one.
	var s string
	i := 2
	bad := false
	str := func(bit uint16) string {
		if f&bit == 0 || bad {
			return ""
		}
		if i >= len(raw) || int(raw[i]) > len(raw)-i-1 {
			bad = true
			return ""
		}
		n := int(raw[i])
		i += 1 + n
		if n == 0 {
			return ""
		}
		if s == "" {
			s = string(raw)
		}
		return s[i-n : i]
	}
	octet := func(bit uint16) uint8 {
		if f&bit == 0 || bad {
			return 0
		}
		if i >= len(raw) {
			bad = true
			return 0
		}
		i++
		return raw[i-1]
	}
	p.ContentType = str(FlagContentType)
	p.ContentEncoding = str(FlagContentEncoding)
	if f&FlagHeaders != 0 && !bad {
		r := reader{b: raw, off: i}
		p.Headers = r.table()
		bad, i = r.bad, r.off
	}
	p.DeliveryMode = octet(FlagDeliveryMode)
	p.Priority = octet(FlagPriority)
	p.CorrelationID = str(FlagCorrelationID)
	p.ReplyTo = str(FlagReplyTo)
	p.Expiration = str(FlagExpiration)
	p.MessageID = str(FlagMessageID)
	if f&FlagTimestamp != 0 && !bad {
		r := reader{b: raw, off: i}
		p.Timestamp = r.timestamp()
		bad, i = r.bad, r.off
	}
	p.Type = str(FlagType)
	p.UserID = str(FlagUserID)
	p.AppID = str(FlagAppID)
	p.ClusterID = str(FlagClusterID)
	if bad || i != len(raw) {
		return Properties{}, decodeError(nil, raw)
	}
	return p, nil
}

// ValidProperties checks a property list as DecodeProperties does and
// returns the same verdict, with the same error, without decoding it: it
// walks the flags word (the continuation and reserved bits ignored, as
// DecodeProperties and RabbitMQ do) and steps over each present property by
// its type, the headers table checked at every level of nesting. It
// allocates nothing for a valid list, so the broker can check every
// published property list it does not decode anyway.
func ValidProperties(raw []byte) error {
	if !validProperties(raw) {
		return decodeError(nil, raw)
	}
	return nil
}

func validProperties(raw []byte) bool {
	if len(raw) < 2 {
		return false
	}
	f := binary.BigEndian.Uint16(raw)
	end := len(raw)
	i := 2
	for bit := FlagContentType; bit >= FlagClusterID; bit >>= 1 {
		if f&bit == 0 {
			continue
		}
		if i >= end {
			return false
		}
		switch bit {
		case FlagHeaders:
			if !room(i, end, 4) {
				return false
			}
			n := uint64(binary.BigEndian.Uint32(raw[i:]))
			i += 4
			if !room(i, end, n) || !validFields(raw, i, i+int(n), true) {
				return false
			}
			i += int(n)
		case FlagDeliveryMode, FlagPriority:
			i++
		case FlagTimestamp:
			if !room(i, end, 8) {
				return false
			}
			i += 8
		default: // shortstr
			i += 1 + int(raw[i])
			if i > end {
				return false
			}
		}
	}
	return i == end
}

// ErrContentWeight is returned by SplitContentHeader for a header whose weight
// is not 0. RabbitMQ's rabbit_command_assembler:process/2 treats such a frame
// as "expected content header for class ~w, got non content header frame
// instead" (505 UNEXPECTED_FRAME against the content method); the broker,
// which knows the method, builds that error.
var ErrContentWeight = errors.New("amqp: content header weight is not 0")

// SplitContentHeader splits the payload of a content header frame into class
// id, body size and the raw property list, which aliases p (and is checked
// only by DecodeProperties and ValidProperties). A payload shorter than 12
// octets is RabbitMQ's unknown_frame: *Error 501 "FRAME_ERROR - type 2, all
// octets = <<...>>: unknown_frame". A weight other than 0 is
// ErrContentWeight.
func SplitContentHeader(p []byte) (classID uint16, bodySize uint64, props []byte, err error) {
	if len(p) < 12 {
		return 0, 0, nil, unknownFrameError(2, p)
	}
	classID = binary.BigEndian.Uint16(p)
	if binary.BigEndian.Uint16(p[2:]) != 0 {
		return 0, 0, nil, ErrContentWeight
	}
	return classID, binary.BigEndian.Uint64(p[4:]), p[12:], nil
}

// AppendContentHeader appends the payload of a content header frame (class id,
// weight 0, body size, raw property list) to dst.
func AppendContentHeader(dst []byte, classID uint16, bodySize uint64, rawProps []byte) []byte {
	dst = appendShort(dst, classID)
	dst = appendShort(dst, 0)
	dst = appendLonglong(dst, bodySize)
	return append(dst, rawProps...)
}
