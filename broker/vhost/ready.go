package vhost

import "slices"

// The ready messages of a queue are kept by priority, as
// rabbit_priority_queue keeps one backing queue per priority: a level per
// priority in use, highest first, each in seq order (FIFO). A queue without
// x-max-priority puts every message at priority 0, so it has at most one
// level. Unlike RabbitMQ, which makes all x-max-priority + 1 sub-queues when
// the queue is declared, a level exists only while it holds messages, so an
// idle priority queue costs what an idle plain one does.
//
// Every removal takes the head of the highest level: delivery, basic.get,
// x-max-length's drop-head and message TTL alike, as RabbitMQ's fetch, drop
// and dropwhile run through the sub-queues from the highest priority down.
//
// Each level has its own page file (page.go); the paging window is shared
// by the levels of a queue, so a queue keeps at most pageWindow ready
// messages and pageWindowBytes of bodies in memory whatever the number of
// priorities in use.

// level is the ready messages of one priority: those in memory (mem, in
// seq order), then those in its page file (pages).
type level struct {
	prio     uint8
	mem      ring[entry]
	memBytes int64  // body sizes of mem
	pages    *pages // nil until the level first pages
}

// paged is the number of the level's messages in its page file.
func (l *level) paged() int {
	if l.pages == nil {
		return 0
	}
	return l.pages.count
}

func (l *level) empty() bool { return l.mem.Len() == 0 && l.paged() == 0 }

// readyQueue is a queue's ready messages. Guarded by Queue.mu.
type readyQueue struct {
	levels []*level // the levels holding messages, highest priority first
	top    *level   // levels[0], nil when there is none
	// spares are emptied levels kept for reuse, so that priorities taking
	// turns do not allocate: at most maxSpares, their rings together at
	// most spareSlots entries.
	spares []*level
	n      int   // ready messages, in memory and paged
	bytes  int64 // their body sizes
	// memN and memBytes count the messages in memory, across levels: the
	// paging window's budget.
	memN     int
	memBytes int64
	pg       *paging // while some messages are paged
}

// paging is what a queue keeps while some of its ready messages are paged.
type paging struct {
	n     int   // paged messages, across levels
	bytes int64 // their body sizes
	// wbufBytes is the size of the records buffered for writing, across
	// levels; rbuf is the read buffer, shared by the levels.
	wbufBytes int
	rbuf      []byte
}

// maxSpares and spareSlots bound what an idle queue keeps in spare levels:
// spareSlots is what one ring keeps before ring.shrink lets it go.
const (
	maxSpares  = 16
	spareSlots = 1024
)

// readyLen is the number of ready messages, in memory and paged. q.mu held.
func (q *Queue) readyLen() int { return q.ready.n }

// readyBytes is the body size of the ready messages. q.mu held.
func (q *Queue) readyBytes() int64 { return q.ready.bytes }

// paged is the number of ready messages in page files. q.mu held.
func (q *Queue) paged() int {
	if q.ready.pg == nil {
		return 0
	}
	return q.ready.pg.n
}

// pagedBytes is the body size of the paged messages. q.mu held.
func (q *Queue) pagedBytes() int64 {
	if q.ready.pg == nil {
		return 0
	}
	return q.ready.pg.bytes
}

// pagingOf returns the paging state, made on first use. q.mu held.
func (q *Queue) pagingOf() *paging {
	if q.ready.pg == nil {
		q.ready.pg = &paging{}
	}
	return q.ready.pg
}

// levelFor returns the level of priority p, making it when there is none.
// q.mu held.
func (q *Queue) levelFor(p uint8) *level {
	if t := q.ready.top; t != nil && t.prio == p {
		return t // a queue without priorities, or the top priority
	}
	return q.findLevel(p)
}

// findLevel is levelFor past the first level. q.mu held.
func (q *Queue) findLevel(p uint8) *level {
	r := &q.ready
	i, found := slices.BinarySearchFunc(r.levels, p, func(l *level, p uint8) int { return int(p) - int(l.prio) })
	if found {
		return r.levels[i]
	}
	var l *level
	if k := len(r.spares); k > 0 {
		l = r.spares[k-1]
		r.spares[k-1] = nil
		r.spares = r.spares[:k-1]
		l.prio = p
	} else {
		l = &level{prio: p}
	}
	r.levels = slices.Insert(r.levels, i, l)
	r.top = r.levels[0]
	return l
}

// dropLevel removes the empty level at index i, keeping it for reuse.
// q.mu held.
func (q *Queue) dropLevel(i int) {
	r := &q.ready
	l := r.levels[i]
	r.levels = slices.Delete(r.levels, i, i+1)
	r.top = nil
	if len(r.levels) > 0 {
		r.top = r.levels[0]
	}
	q.resetPages(l)
	q.keepSpare(l)
}

// keepSpare keeps the empty level l for reuse, without its ring when the
// spares' rings would pass spareSlots. q.mu held.
func (q *Queue) keepSpare(l *level) {
	r := &q.ready
	if len(r.spares) >= maxSpares {
		return
	}
	slots := l.mem.Cap()
	for _, s := range r.spares {
		slots += s.mem.Cap()
	}
	if slots > spareSlots {
		l.mem = ring[entry]{}
	}
	r.spares = append(r.spares, l)
}

// pushReady appends e to the ready messages of its priority: in memory
// while the level has nothing paged and the window has room, else to the
// level's page file. q.mu held.
func (q *Queue) pushReady(e entry) {
	l := q.levelFor(e.prio)
	size := e.msg.bodySize()
	r := &q.ready
	r.n++
	r.bytes += size
	if q.v.opts.PageDir == "" || (l.paged() == 0 && r.memN < pageWindow && r.memBytes <= pageWindowBytes) {
		l.mem.PushBack(e)
		l.memBytes += size
		r.memN++
		r.memBytes += size
		return
	}
	q.pageOut(l, &e)
}

// memPushBack and memPushFront put e in l's memory, counting it in the
// window. q.mu held.
func (q *Queue) memPushBack(l *level, e entry) {
	size := e.msg.bodySize()
	l.mem.PushBack(e)
	l.memBytes += size
	q.ready.memN++
	q.ready.memBytes += size
}

func (q *Queue) memPushFront(l *level, e entry) {
	size := e.msg.bodySize()
	l.mem.PushFront(e)
	l.memBytes += size
	q.ready.memN++
	q.ready.memBytes += size
}

// headReady returns the next ready message (the oldest of the highest
// priority), reading its level back from the page file if none of it is
// in memory; nil when there is none. The pointer is valid until the ready
// messages change. q.mu held.
func (q *Queue) headReady() *entry {
	if t := q.ready.top; t != nil && t.mem.Len() > 0 {
		return t.mem.Front()
	}
	return q.loadHead()
}

// loadHead is headReady when the head level has nothing in memory. q.mu
// held.
func (q *Queue) loadHead() *entry {
	for len(q.ready.levels) > 0 {
		l := q.ready.levels[0]
		if l.mem.Len() > 0 {
			return l.mem.Front()
		}
		q.refillLevel(l)
		if l.mem.Len() == 0 {
			// The page file could not be read: its messages are gone.
			q.dropPages(l)
			q.dropLevel(0)
		}
	}
	return nil
}

// popReady removes the message headReady returned, then reads more back
// when the head level runs low. q.mu held.
func (q *Queue) popReady() {
	r := &q.ready
	l := r.top
	size := l.mem.Front().msg.bodySize()
	l.mem.DropFront()
	l.memBytes -= size
	r.memN--
	r.memBytes -= size
	r.n--
	r.bytes -= size
	if l.mem.Len() == 0 && l.paged() == 0 {
		q.dropLevel(0)
	} else if l.pages != nil {
		q.refillLevel(l)
	}
}

// takeReady removes and returns the next ready message; false when there
// is none. q.mu held.
func (q *Queue) takeReady() (entry, bool) {
	h := q.headReady()
	if h == nil {
		return entry{}, false
	}
	e := *h
	q.popReady()
	return e, true
}

// unpopReady puts back at the head of its level a message just taken.
// q.mu held.
func (q *Queue) unpopReady(e entry) {
	q.memPushFront(q.levelFor(e.prio), e)
	q.ready.n++
	q.ready.bytes += e.msg.bodySize()
}

// refill reads the head level back from its page file when it runs low.
// q.mu held.
func (q *Queue) refill() {
	if len(q.ready.levels) > 0 {
		q.refillLevel(q.ready.levels[0])
	}
}

// requeueReady merges recs (sorted by seq) back into the ready messages,
// each at its place in its level: rabbit_priority_queue:requeue/2 hands
// each sub-queue its own, which puts them back in their original order.
// A requeued message is older than any paged message of its level (it
// was that level's head when it was delivered), so it goes to memory.
// recs may be reordered. q.mu held.
func (q *Queue) requeueReady(recs []unackedRec) {
	byPrio := func(a, b unackedRec) int { return int(a.e.prio) - int(b.e.prio) }
	if !slices.IsSortedFunc(recs, byPrio) {
		slices.SortStableFunc(recs, byPrio)
	}
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].e.prio == recs[i].e.prio {
			j++
		}
		q.insertSorted(q.levelFor(recs[i].e.prio), recs[i:j])
		i = j
	}
}

// insertSorted merges recs (one priority, sorted by seq) into l's memory,
// which is sorted by seq. q.mu held.
func (q *Queue) insertSorted(l *level, recs []unackedRec) {
	r := &q.ready
	for i := range recs {
		size := recs[i].e.msg.bodySize()
		r.n++
		r.bytes += size
		r.memN++
		r.memBytes += size
		l.memBytes += size
	}
	if l.mem.Len() == 0 || recs[len(recs)-1].e.seq < l.mem.Front().seq {
		for i := len(recs) - 1; i >= 0; i-- {
			l.mem.PushFront(recs[i].e)
		}
		return
	}
	merged := make([]entry, 0, l.mem.Len()+len(recs))
	i := 0
	for k := 0; k < l.mem.Len(); k++ {
		e := l.mem.At(k)
		for i < len(recs) && recs[i].e.seq < e.seq {
			merged = append(merged, recs[i].e)
			i++
		}
		merged = append(merged, *e)
	}
	for ; i < len(recs); i++ {
		merged = append(merged, recs[i].e)
	}
	l.mem.Replace(merged)
}

// purgeReady settles and forgets every ready message (queue.purge) and
// returns how many there were. q.mu held.
func (q *Queue) purgeReady() int {
	n := q.ready.n
	for _, l := range q.ready.levels {
		for i := 0; i < l.mem.Len(); i++ {
			q.gone(l.mem.At(i))
		}
		q.purgePages(l)
	}
	q.clearReady()
	return n
}

// clearReady forgets every ready message without settling them (the
// queue is deleted, and the store forgets it whole; or purgeReady settled
// them). q.mu held.
func (q *Queue) clearReady() {
	levels := q.ready.levels
	q.ready = readyQueue{spares: q.ready.spares}
	for _, l := range levels {
		l.mem.Clear()
		l.memBytes = 0
		if l.pages != nil {
			l.pages.reset()
		}
		q.keepSpare(l)
	}
}
