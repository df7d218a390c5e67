package store

import (
	"cmp"
	"slices"
)

// queueIndex holds the live messages of one queue, sorted by id: where
// each publish record is and its flags. Ids normally grow (Publish's
// contract), so inserting is an append and settling, mostly from the
// front, trims a prefix: a queue costs 24 bytes per live message and no
// hashing, and recovery gets each queue already in order (RabbitMQ's
// queue index likewise keys a queue by its growing seq_id).
type queueIndex struct {
	ents []qentry // sorted by id; ents[:head] and tombstones are settled
	head int
	live int
	dead int // tombstones in ents[head:]
	// late holds entries inserted out of order (a recovered compaction
	// copy of an old message, an id reused after it was settled); they
	// are merged into ents before the next lookup.
	late       []qentry
	lateSorted bool
}

type qentry struct {
	id uint64
	e  entry
}

// tombstone marks a settled entry (no record has size 0).
func (q *queueIndex) isDead(i int) bool { return q.ents[i].e.size == 0 }

// find returns the position of id in ents (live or tombstone), or -1,
// merging the out-of-order entries first.
func (q *queueIndex) find(id uint64) int {
	if len(q.late) > 0 {
		q.merge()
	}
	return q.search(id)
}

func cmpID(a qentry, id uint64) int { return cmp.Compare(a.id, id) }

// search is find without merging the out-of-order entries first.
func (q *queueIndex) search(id uint64) int {
	i, ok := slices.BinarySearchFunc(q.ents[q.head:], id, cmpID)
	if !ok {
		return -1
	}
	return q.head + i
}

// searchLate returns the position of id in late, or -1. late is kept in
// id order while entries come in order (compaction copies do); when they
// do not, it is merged first.
func (q *queueIndex) searchLate(id uint64) int {
	if len(q.late) == 0 {
		return -1
	}
	if !q.lateSorted {
		q.merge()
		return -1
	}
	i, ok := slices.BinarySearchFunc(q.late, id, cmpID)
	if !ok {
		return -1
	}
	return i
}

// get returns the live entry of id.
func (q *queueIndex) get(id uint64) (entry, bool) {
	if q == nil {
		return entry{}, false
	}
	if n, m := len(q.ents), len(q.late); (n == 0 || id > q.ents[n-1].id) && (m == 0 || id > q.late[m-1].id) {
		return entry{}, false // the common case for a new id
	}
	if i := q.search(id); i >= 0 && !q.isDead(i) {
		return q.ents[i].e, true
	}
	if i := q.searchLate(id); i >= 0 {
		return q.late[i].e, true
	}
	if i := q.search(id); i >= 0 && !q.isDead(i) { // late was just merged
		return q.ents[i].e, true
	}
	return entry{}, false
}

// set makes id live at e, replacing the entry it had, if any.
func (q *queueIndex) set(id uint64, e entry) {
	if n := len(q.ents); len(q.late) == 0 && (n == q.head || id > q.ents[n-1].id) {
		if n == cap(q.ents) {
			// Double: append's 1.25× for large slices copies a long
			// queue several times over while recovery fills it.
			q.ents = slices.Grow(q.ents, max(n, 8))
		}
		q.ents = append(q.ents, qentry{id, e})
		q.live++
		return
	}
	// Out of order: replace in place if it is there, else keep it aside
	// (a run of these, as recovery meets compaction copies, costs one
	// merge instead of one insertion each).
	if i := q.searchLate(id); i >= 0 {
		q.late[i].e = e
		return
	}
	if i := q.search(id); i >= 0 {
		if q.isDead(i) {
			q.dead--
			q.live++
		}
		q.ents[i].e = e
		return
	}
	if n := len(q.late); n == 0 {
		q.lateSorted = true
	} else if id <= q.late[n-1].id {
		q.lateSorted = false
	}
	q.late = append(q.late, qentry{id, e})
	q.live++
}

// update replaces the entry of a live id (its flags).
func (q *queueIndex) update(id uint64, e entry) {
	if i := q.searchLate(id); i >= 0 {
		q.late[i].e = e
		return
	}
	if i := q.search(id); i >= 0 && !q.isDead(i) {
		q.ents[i].e = e
	}
}

// remove settles id and returns the entry it had.
func (q *queueIndex) remove(id uint64) (entry, bool) {
	if q == nil {
		return entry{}, false
	}
	i := q.find(id)
	if i < 0 || q.isDead(i) {
		return entry{}, false
	}
	e := q.ents[i].e
	q.ents[i].e = entry{}
	q.live--
	q.dead++
	for q.head < len(q.ents) && q.isDead(q.head) {
		q.head++
		q.dead--
	}
	switch {
	case q.head == len(q.ents):
		q.ents, q.head, q.dead = q.ents[:0], 0, 0
	case q.dead > 32 && q.dead > q.live:
		q.squeeze()
	case q.head > 1024 && q.head > len(q.ents)/2:
		n := copy(q.ents, q.ents[q.head:])
		q.ents, q.head = q.ents[:n], 0
	}
	return e, true
}

// squeeze drops settled entries, keeping the order.
func (q *queueIndex) squeeze() {
	n := 0
	for i := q.head; i < len(q.ents); i++ {
		if !q.isDead(i) {
			q.ents[n] = q.ents[i]
			n++
		}
	}
	clear(q.ents[n:])
	q.ents, q.head, q.dead = q.ents[:n], 0, 0
}

// merge folds the out-of-order entries into ents, in one linear pass.
func (q *queueIndex) merge() {
	late := q.late
	q.late = nil
	// Stable, so that of two entries for one id the later is kept.
	slices.SortStableFunc(late, func(a, b qentry) int { return cmp.Compare(a.id, b.id) })
	n := 0
	for i := range late {
		if i+1 < len(late) && late[i+1].id == late[i].id {
			q.live--
			continue
		}
		late[n] = late[i]
		n++
	}
	late = late[:n]
	old := q.ents[q.head:]
	out := make([]qentry, 0, len(old)+len(late))
	i, j := 0, 0
	for i < len(old) && j < len(late) {
		switch {
		case old[i].id < late[j].id:
			out = append(out, old[i])
			i++
		case old[i].id > late[j].id:
			out = append(out, late[j])
			j++
		default: // the later one wins
			if old[i].e.size != 0 {
				q.live-- // counted twice
			} else {
				q.dead--
			}
			out = append(out, late[j])
			i++
			j++
		}
	}
	out = append(out, old[i:]...)
	out = append(out, late[j:]...)
	q.ents, q.head = out, 0
}

// each calls fn for every live entry in id order.
func (q *queueIndex) each(fn func(id uint64, e entry)) {
	if len(q.late) > 0 {
		q.merge()
	}
	for _, x := range q.ents[q.head:] {
		if x.e.size != 0 {
			fn(x.id, x.e)
		}
	}
}

// after appends to dst, in id order, up to n live entries with an id
// from first to last.
func (q *queueIndex) after(dst []qentry, first, last uint64, n int) []qentry {
	if len(q.late) > 0 {
		q.merge()
	}
	ents := q.ents[q.head:]
	i, _ := slices.BinarySearchFunc(ents, first, cmpID)
	for ; i < len(ents) && n > 0 && ents[i].id <= last; i++ {
		if ents[i].e.size != 0 {
			dst = append(dst, ents[i])
			n--
		}
	}
	return dst
}
