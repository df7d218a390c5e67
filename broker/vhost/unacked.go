package vhost

import "slices"

// unackedRec is one delivery awaiting ack, reject or nack.
type unackedRec struct {
	tag uint64
	q   *Queue    // nil marks a record settled out of order (a tombstone)
	c   *consumer // nil for basic.get
	e   entry
}

// unackedList is a session's unacknowledged deliveries in delivery-tag
// order (RabbitMQ's unacked_message_q). Acks usually take the oldest, which
// is O(1); one taken from the middle leaves a tombstone, cleared when it
// reaches the front or by compaction. Guarded by Session.mu.
type unackedList struct {
	r          ring[unackedRec]
	live       int
	tombstones int
}

func (l *unackedList) push(rec unackedRec) {
	l.r.PushBack(rec)
	l.live++
}

// find returns the index of the record with tag, or -1.
func (l *unackedList) find(tag uint64) int {
	lo, hi := 0, l.r.Len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.r.At(mid).tag < tag {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < l.r.Len() && l.r.At(lo).tag == tag && l.r.At(lo).q != nil {
		return lo
	}
	return -1
}

func (l *unackedList) trimFront() {
	for l.r.Len() > 0 && l.r.Front().q == nil {
		l.r.PopFront()
		l.tombstones--
	}
}

// take moves the records rabbit_channel:collect_acks/3 selects into dst:
// tag 0 with multiple is every record; otherwise the record with tag, and
// with multiple every older one too. ok is false when no record has tag.
func (l *unackedList) take(dst []unackedRec, tag uint64, multiple bool) ([]unackedRec, bool) {
	if multiple && tag == 0 {
		return l.takeAll(dst), true
	}
	i := l.find(tag)
	if i < 0 {
		return dst, false
	}
	if multiple {
		for k := 0; k <= i; k++ {
			rec := l.r.PopFront()
			if rec.q != nil {
				dst = append(dst, rec)
				l.live--
			} else {
				l.tombstones--
			}
		}
		l.trimFront()
		return dst, true
	}
	if i == 0 {
		dst = append(dst, l.r.PopFront())
		l.live--
		l.trimFront()
		return dst, true
	}
	rec := l.r.At(i)
	dst = append(dst, *rec)
	*rec = unackedRec{tag: rec.tag}
	l.live--
	l.tombstones++
	if l.tombstones > 64 && l.tombstones > 2*l.live {
		l.compact()
	}
	return dst, true
}

func (l *unackedList) takeAll(dst []unackedRec) []unackedRec {
	for l.r.Len() > 0 {
		if rec := l.r.PopFront(); rec.q != nil {
			dst = append(dst, rec)
		}
	}
	l.live, l.tombstones = 0, 0
	return dst
}

func (l *unackedList) compact() {
	recs := make([]unackedRec, 0, l.live)
	for i := 0; i < l.r.Len(); i++ {
		if rec := l.r.At(i); rec.q != nil {
			recs = append(recs, *rec)
		}
	}
	l.r.Replace(recs)
	l.tombstones = 0
}

// restore puts records back (tx.rollback), keeping tag order.
func (l *unackedList) restore(recs []unackedRec) {
	all := make([]unackedRec, 0, l.live+len(recs))
	for i := 0; i < l.r.Len(); i++ {
		if rec := l.r.At(i); rec.q != nil {
			all = append(all, *rec)
		}
	}
	all = append(all, recs...)
	sortRecsByTag(all)
	l.live = len(all)
	l.tombstones = 0
	l.r.Replace(all)
}

// sortRecsBySeq sorts records by their queue order.
func sortRecsBySeq(recs []unackedRec) {
	slices.SortStableFunc(recs, func(a, b unackedRec) int {
		switch {
		case a.e.seq < b.e.seq:
			return -1
		case a.e.seq > b.e.seq:
			return 1
		}
		return 0
	})
}

// sortRecsByTag sorts records by delivery tag.
func sortRecsByTag(recs []unackedRec) {
	slices.SortFunc(recs, func(a, b unackedRec) int {
		switch {
		case a.tag < b.tag:
			return -1
		case a.tag > b.tag:
			return 1
		}
		return 0
	})
}
