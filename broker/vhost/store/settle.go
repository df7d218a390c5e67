package store

import "encoding/binary"

// Ack settles messages of a queue (acked, rejected without requeue,
// expired, dead-lettered: whatever ends the queue's copy). Ids that are
// not live are ignored. Ack does not wait: the record is ordered after the
// publishes it settles and becomes durable with the next sync. As in
// RabbitMQ, an ack lost in a crash brings the message back (marked
// redelivered if it had been delivered).
func (s *Store) Ack(queue uint32, ids ...uint64) error {
	return s.settle(kindAck, queue, ids)
}

// Delivered records that messages of a queue have been handed to a
// consumer, so that after a crash they come back with Delivered set
// (RabbitMQ's redelivered=true for messages delivered but unacked). Only
// the first delivery of a message is written; it does not wait.
func (s *Store) Delivered(queue uint32, ids ...uint64) error {
	return s.settle(kindDelivered, queue, ids)
}

// DeleteQueue settles every live message of a queue with one record, so
// recovery drops them. The queue id may be used again afterwards.
func (s *Store) DeleteQueue(queue uint32) error { return s.drop(queue) }

// PurgeQueue settles every live message of a queue (queue.purge); it
// writes the same record as DeleteQueue.
func (s *Store) PurgeQueue(queue uint32) error { return s.drop(queue) }

// settled is one target a settle record names, with its publish's segment.
type settled struct {
	id  uint64
	seg uint32
}

func (s *Store) settle(k kind, queue uint32, ids []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	q := s.queues[queue]
	if q == nil {
		return nil
	}
	for len(ids) > 0 {
		part := ids[:min(len(ids), maxSettleIDs)]
		ids = ids[len(part):]
		// Apply first (duplicates in ids then fall out), write after.
		var buf [64]settled
		hits := buf[:0]
		for _, id := range part {
			var e entry
			var ok bool
			if k == kindDelivered {
				if e, ok = q.get(id); !ok || e.flags&flagDelivered != 0 {
					continue
				}
				e.flags |= flagDelivered
				q.update(id, e)
			} else {
				if e, ok = q.remove(id); !ok {
					continue
				}
				s.live--
				g := s.segs[e.seg]
				g.settleTarget(e.off, e.size)
				s.noteSparse(g)
			}
			hits = append(hits, settled{id, e.seg})
		}
		if len(hits) == 0 {
			continue
		}
		n := recordHeaderSize + settleHeaderSize + 8*len(hits)
		g, _, rec := s.reserve(n)
		binary.LittleEndian.PutUint32(rec[0:], uint32(n-recordHeaderSize))
		rec[8] = byte(k)
		binary.LittleEndian.PutUint32(rec[9:], queue)
		binary.LittleEndian.PutUint32(rec[13:], uint32(len(hits)))
		p := recordHeaderSize + settleHeaderSize
		for _, h := range hits {
			binary.LittleEndian.PutUint64(rec[p:], h.id)
			p += 8
			if pg := s.segs[h.seg]; pg != nil {
				pg.pin(g)
			}
		}
		sealRecord(rec)
		s.stats.records.Add(1)
	}
	if q.live == 0 {
		delete(s.queues, queue)
	}
	s.signal()
	return nil
}

func (s *Store) drop(queue uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	q := s.queues[queue]
	if q == nil || q.live == 0 {
		// Nothing live: the settle records already on disk say so.
		return nil
	}
	n := recordHeaderSize + 4
	g, _, rec := s.reserve(n)
	binary.LittleEndian.PutUint32(rec[0:], 4)
	rec[8] = byte(kindDrop)
	binary.LittleEndian.PutUint32(rec[9:], queue)
	sealRecord(rec)
	s.stats.records.Add(1)
	q.each(func(_ uint64, e entry) {
		pg := s.segs[e.seg]
		pg.settleTarget(e.off, e.size)
		pg.pin(g)
		s.noteSparse(pg)
	})
	s.live -= int64(q.live)
	delete(s.queues, queue)
	s.signal()
	return nil
}

// noteSparse marks housekeeping due when g became empty or sparse enough
// to compact. Call with mu held.
func (s *Store) noteSparse(g *segment) {
	if g.live == 0 || float64(g.liveBytes) < s.opts.CompactBelow*float64(g.size) {
		s.hkDirty = true
	}
}
