package store

import (
	"fmt"
	"hash/crc32"
)

// Publish appends a message for one queue: data is the caller's opaque
// serialisation (properties, body, exchange, routing key, timestamps...).
// id names the message in the queue and must increase in publish order
// within the queue (recovery returns a queue's messages sorted by id, as
// RabbitMQ orders a queue by seq_id); it must not be live already.
//
// done, if not nil, is called once from the writer goroutine when the
// message is written (and, in SyncData mode, fdatasync'ed), or with the
// error that stopped the store; it must not block or call into the Store.
// A publish without done is not waited for: it becomes durable with the
// next sync (a later Publish with done, Sync, or Close).
//
// The returned Ref says where the record went; data is copied before
// Publish returns.
func (s *Store) Publish(queue uint32, id uint64, data []byte, done func(error)) (Ref, error) {
	t := [1]Target{{Queue: queue, ID: id}}
	return s.PublishTo(t[:], data, done)
}

// PublishTo appends one record holding data for several queues (a fanout
// to durable queues): the bytes are written once, and the record stays
// until every target is settled, as RabbitMQ's msg_store shares one body
// between queues by reference count. Otherwise as Publish.
func (s *Store) PublishTo(targets []Target, data []byte, done func(error)) (Ref, error) {
	if len(targets) == 0 || len(targets) > maxTargets {
		return Ref{}, fmt.Errorf("store: publish to %d targets (1 to %d allowed)", len(targets), maxTargets)
	}
	if len(data) > MaxMessageSize {
		return Ref{}, fmt.Errorf("store: message of %d bytes exceeds %d", len(data), MaxMessageSize)
	}
	size := publishSize(len(targets), len(data))
	// The CRC of the data does not depend on where the record goes, so
	// the expensive part is computed before taking the lock.
	var hdr [recordHeaderSize + 2 + targetSize]byte
	var rec []byte
	if len(targets) == 1 {
		rec = hdr[:]
	} else {
		rec = make([]byte, size-len(data))
	}
	dataOff := putPublishPrefix(rec, targets, nil, len(data))
	crc := crc32.Update(0, castagnoli, rec[0:4])
	crc = crc32.Update(crc, castagnoli, rec[8:dataOff])
	crc = crc32.Update(crc, castagnoli, data)
	putCRC(rec, crc)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.waitRoom()
	if err := s.usable(); err != nil {
		return Ref{}, err
	}
	for i, t := range targets {
		if _, ok := s.queues[t.Queue].get(t.ID); ok {
			return Ref{}, fmt.Errorf("%w: queue %d id %d", ErrDuplicate, t.Queue, t.ID)
		}
		for _, u := range targets[:i] {
			if u == t {
				return Ref{}, fmt.Errorf("%w: queue %d id %d named twice", ErrDuplicate, t.Queue, t.ID)
			}
		}
	}
	g, off, dst := s.reserve(size)
	copy(dst[copy(dst, rec[:dataOff]):], data)
	s.index(targets, nil, g, uint32(off), uint32(size))
	s.stats.records.Add(1)
	if done != nil {
		s.pend.dones = append(s.pend.dones, done)
		s.pend.sync = true
	}
	s.signal()
	return Ref{Segment: g.num, Offset: uint32(off), Length: uint32(size)}, nil
}

// index makes targets live at a record of segment g. Call with mu held.
func (s *Store) index(targets []Target, flags []uint8, g *segment, off, size uint32) {
	for i, t := range targets {
		q := s.queues[t.Queue]
		if q == nil {
			q = new(queueIndex)
			s.queues[t.Queue] = q
		}
		var f uint8
		if flags != nil {
			f = flags[i]
		}
		q.set(t.ID, entry{seg: g.num, off: off, size: size, flags: f})
	}
	s.live += int64(len(targets))
	g.addTargets(off, size, len(targets))
}

// Sync waits until everything appended before it is written and
// fdatasync'ed, whatever the sync mode.
func (s *Store) Sync() error {
	ch := make(chan error, 1)
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.pend.dones = append(s.pend.dones, func(err error) { ch <- err })
	s.pend.forceSync = true
	s.mu.Unlock()
	s.signal()
	return <-ch
}
