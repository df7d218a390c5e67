package store

import (
	"encoding/binary"
	"hash/crc32"
)

// A record is the unit of the log. Layout, little endian:
//
//	0  uint32  body length n (bytes after the 9-byte header)
//	4  uint32  CRC-32C (Castagnoli) of bytes 0..4 and 8..9+n
//	8  uint8   kind
//	9  body    n bytes, laid out per kind below
//
// The CRC covers the length as well as the body, so a flipped length is
// caught like a flipped body (etcd's wal and Prometheus' wlog put a CRC on
// every record; wlog uses the same Castagnoli table).
//
// Bodies:
//
//	publish    uint16 t; t × {uint32 queue, uint64 id, uint8 flags}; data
//	ack        uint32 queue; uint32 k; k × uint64 id
//	delivered  uint32 queue; uint32 k; k × uint64 id
//	drop       uint32 queue
const (
	recordHeaderSize = 9
	targetSize       = 13 // queue, id, flags of one publish target
	settleHeaderSize = 8  // queue, count of an ack or delivered record
)

// MaxMessageSize is the largest data a single Publish accepts: 512 MiB,
// the ceiling RabbitMQ 3.10 allows for max_message_size.
const MaxMessageSize = 512 << 20

// maxTargets bounds the targets of one publish record (uint16 count).
const maxTargets = 1<<16 - 1

// maxBody bounds a record body: the largest message with the most targets.
// A length above it is corruption, checked before anything is allocated.
const maxBody = MaxMessageSize + 2 + maxTargets*targetSize

// maxSettleIDs bounds the ids in one ack or delivered record.
const maxSettleIDs = 1 << 16

type kind uint8

const (
	kindPublish   kind = 1 // a message for one or more queues
	kindAck       kind = 2 // settles (queue, id) pairs: acked, rejected, expired, dead-lettered
	kindDelivered kind = 3 // marks (queue, id) pairs as delivered at least once
	kindDrop      kind = 4 // settles every message of a queue published before it
)

func (k kind) String() string {
	switch k {
	case kindPublish:
		return "publish"
	case kindAck:
		return "ack"
	case kindDelivered:
		return "delivered"
	case kindDrop:
		return "drop"
	}
	return "unknown"
}

// flagDelivered on a publish target: the message had been delivered to
// that queue before the record was written (kept when compaction copies a
// record forward, so a delivered record left behind is not needed).
const flagDelivered = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Target names one queue's copy of a message: the queue and the message id
// in that queue.
type Target struct {
	Queue uint32
	ID    uint64
}

// publishSize is the record size of a publish to t targets with n bytes of data.
func publishSize(t, n int) int {
	return recordHeaderSize + 2 + t*targetSize + n
}

// putPublishPrefix writes the header (without CRC) and targets of a
// publish record with n bytes of data into dst, which must have room for
// them, and returns the offset where the data goes.
func putPublishPrefix(dst []byte, targets []Target, flags []uint8, n int) int {
	body := publishSize(len(targets), n) - recordHeaderSize
	binary.LittleEndian.PutUint32(dst[0:], uint32(body))
	dst[8] = byte(kindPublish)
	binary.LittleEndian.PutUint16(dst[9:], uint16(len(targets)))
	p := 11
	for i, t := range targets {
		binary.LittleEndian.PutUint32(dst[p:], t.Queue)
		binary.LittleEndian.PutUint64(dst[p+4:], t.ID)
		var f uint8
		if flags != nil {
			f = flags[i]
		}
		dst[p+12] = f
		p += targetSize
	}
	return p
}

// sealRecord computes and stores the CRC of the complete record rec.
func sealRecord(rec []byte) {
	binary.LittleEndian.PutUint32(rec[4:], recordCRC(rec))
}

func recordCRC(rec []byte) uint32 {
	c := crc32.Update(0, castagnoli, rec[0:4])
	return crc32.Update(c, castagnoli, rec[8:])
}

// parseRecord checks the record at the start of buf. It returns the kind,
// the body and the record's total length, or a reason it is not a valid
// record (the bytes left are too few, the length is out of bounds, the
// CRC does not match, the kind is unknown or the body malformed).
func parseRecord(buf []byte) (k kind, body []byte, n int, reason string) {
	if len(buf) < recordHeaderSize {
		if allZero(buf) {
			return 0, nil, 0, "zero-filled tail"
		}
		return 0, nil, 0, "truncated record header"
	}
	size := binary.LittleEndian.Uint32(buf[0:])
	if size == 0 && allZero(buf[:recordHeaderSize]) {
		return 0, nil, 0, "zero-filled tail"
	}
	if uint64(size) > maxBody {
		return 0, nil, 0, "record length out of bounds"
	}
	n = recordHeaderSize + int(size)
	if n > len(buf) {
		return 0, nil, 0, "truncated record"
	}
	rec := buf[:n]
	if binary.LittleEndian.Uint32(rec[4:]) != recordCRC(rec) {
		return 0, nil, 0, "crc mismatch"
	}
	k = kind(rec[8])
	body = rec[recordHeaderSize:]
	if r := checkBody(k, body); r != "" {
		return 0, nil, 0, r
	}
	return k, body, n, ""
}

// checkBody validates the body layout of a record whose CRC matched, so a
// record written by a buggy or foreign writer is reported, not indexed.
func checkBody(k kind, body []byte) string {
	switch k {
	case kindPublish:
		if len(body) < 2 {
			return "malformed publish record"
		}
		t := int(binary.LittleEndian.Uint16(body))
		if t == 0 || len(body) < 2+t*targetSize {
			return "malformed publish record"
		}
	case kindAck, kindDelivered:
		if len(body) < settleHeaderSize {
			return "malformed settle record"
		}
		c := int(binary.LittleEndian.Uint32(body[4:]))
		if c > maxSettleIDs || len(body) != settleHeaderSize+8*c {
			return "malformed settle record"
		}
	case kindDrop:
		if len(body) != 4 {
			return "malformed drop record"
		}
	default:
		return "unknown record kind"
	}
	return ""
}

// publishTargets returns the target count of a checked publish body and
// the offset of its data within the body.
func publishTargets(body []byte) (t int, dataOff int) {
	t = int(binary.LittleEndian.Uint16(body))
	return t, 2 + t*targetSize
}

// publishTarget decodes target i of a checked publish body.
func publishTarget(body []byte, i int) (Target, uint8) {
	p := 2 + i*targetSize
	return Target{
		Queue: binary.LittleEndian.Uint32(body[p:]),
		ID:    binary.LittleEndian.Uint64(body[p+4:]),
	}, body[p+12]
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func putCRC(rec []byte, c uint32) { binary.LittleEndian.PutUint32(rec[4:], c) }
