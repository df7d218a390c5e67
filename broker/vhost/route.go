package vhost

import (
	"slices"
	"sort"
	"sync"

	"github.com/beatmq/beatmq/amqp"
)

// router holds the scratch space of one routing: reused, so routing does
// not allocate once warm.
type router struct {
	qs    []*Queue
	work  []*Exchange
	seen  []*Exchange
	words []string
	keys  []string
	set   queueSet
	// replies are the direct reply-to names the default exchange routed
	// to (replyto.go), each once.
	replies []string
}

// queueSet is a reusable open-addressing set of queues for removing
// duplicates from a large routing result without allocating: a slot is in
// use when its generation is the current one, so emptying it is O(1).
type queueSet struct {
	gen   uint32
	slots []queueSlot
}

type queueSlot struct {
	gen uint32
	q   *Queue
}

// reset empties the set and sizes it for n queues.
func (s *queueSet) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if len(s.slots) < size || s.gen == ^uint32(0) {
		s.slots = make([]queueSlot, size)
		s.gen = 0
	}
	s.gen++
}

// add reports whether q was not in the set, and adds it.
func (s *queueSet) add(q *Queue) bool {
	mask := uint64(len(s.slots) - 1)
	for i := (q.id * 0x9E3779B97F4A7C15) >> 32 & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.gen != s.gen {
			sl.gen, sl.q = s.gen, q
			return true
		}
		if sl.q == q {
			return false
		}
	}
}

var routerPool = sync.Pool{New: func() any { return new(router) }}

func (r *router) addBindings(bs []*binding) {
	for _, b := range bs {
		r.addDest(b)
	}
}

func (r *router) addDest(b *binding) {
	if b.q != nil {
		r.qs = append(r.qs, b.q)
		return
	}
	r.addExchange(b.x)
}

func (r *router) addExchange(x *Exchange) {
	for _, s := range r.seen {
		if s == x {
			return
		}
	}
	r.seen = append(r.seen, x)
	r.work = append(r.work, x)
}

// routeLocked sets r.qs to the queues x routes the message to, without
// duplicates, following exchange-to-exchange bindings (each exchange visited
// once, as rabbit_exchange:route/2) and alternate exchanges, and r.replies
// to the direct reply-to names it routes to. keys are the message's routing
// keys: its basic.publish's, then those of its CC and BCC headers. v.mu
// held.
func (v *VHost) routeLocked(r *router, x *Exchange, keys []string, headers amqp.Table) {
	r.qs = r.qs[:0]
	r.replies = r.replies[:0]
	if x.isDefault {
		// The default exchange binds every queue by its name; a reply
		// name goes to its channel (rabbit_exchange:route/2).
		for i, key := range keys {
			if slices.Contains(keys[:i], key) {
				continue
			}
			if isReplyName(key) {
				r.replies = append(r.replies, key)
			} else if q := v.queues[key]; q != nil {
				r.qs = append(r.qs, q)
			}
		}
		return
	}
	r.work = append(r.work[:0], x)
	r.seen = append(r.seen[:0], x)
	for len(r.work) > 0 {
		cur := r.work[len(r.work)-1]
		r.work = r.work[:len(r.work)-1]
		if !v.matchExchange(r, cur, keys, headers) && cur.hasAlternate {
			// rabbit_exchange:process_alternate/2: nothing matched.
			if ae := v.exchanges[cur.alternate]; ae != nil {
				r.addExchange(ae)
			}
		}
	}
	r.qs = r.dedup(r.qs)
	clear(r.work[:cap(r.work)])
	clear(r.seen[:cap(r.seen)])
}

// matchExchange adds to r the destinations of x's bindings that match any
// of keys (headers for a headers exchange), and reports whether there were
// any.
func (v *VHost) matchExchange(r *router, x *Exchange, keys []string, headers amqp.Table) bool {
	switch x.kind {
	case KindDirect:
		matched := false
		for _, key := range keys {
			bs := x.direct[key]
			r.addBindings(bs)
			matched = matched || len(bs) > 0
		}
		return matched
	case KindFanout:
		r.addBindings(x.fanout)
		return len(x.fanout) > 0
	case KindTopic:
		matched := false
		for _, key := range keys {
			r.words = splitTopic(r.words[:0], key)
			matched = x.topic.match(r, r.words) || matched
			clear(r.words)
		}
		return matched
	case KindHeaders:
		matched := false
		for _, b := range x.headers {
			if b.headersMatch(headers) {
				r.addDest(b)
				matched = true
			}
		}
		return matched
	}
	return false
}

// dedup removes repeated queues, keeping the first of each.
func (r *router) dedup(qs []*Queue) []*Queue {
	if len(qs) < 2 {
		return qs
	}
	n := 0
	if len(qs) <= 16 {
	outer:
		for _, q := range qs {
			for _, p := range qs[:n] {
				if p == q {
					continue outer
				}
			}
			qs[n] = q
			n++
		}
	} else {
		r.set.reset(len(qs))
		for _, q := range qs {
			if r.set.add(q) {
				qs[n] = q
				n++
			}
		}
		clear(r.set.slots)
	}
	clear(qs[n:])
	return qs[:n]
}

// Route returns the names of the queues a message published to exchange
// with routingKey and headers goes to, each once, sorted; the CC and BCC
// headers add routing keys as they do for a publish. It is for tests and
// inspection; Session.Publish routes without allocating. The error is 404
// when the exchange does not exist.
func (v *VHost) Route(exchange, routingKey string, headers amqp.Table) ([]string, error) {
	msg := &Message{}
	if headers != nil {
		msg.setRoutes(&amqp.Properties{Headers: headers})
	}
	r := routerPool.Get().(*router)
	defer routerPool.Put(r)
	v.mu.RLock()
	x := v.exchanges[exchange]
	if x == nil {
		v.mu.RUnlock()
		return nil, v.notFound("exchange", exchange)
	}
	if msg.Headers != nil {
		headers = msg.Headers // without BCC
	}
	r.keys = appendRoutingKeys(r.keys[:0], routingKey, msg)
	v.routeLocked(r, x, r.keys, headers)
	names := make([]string, len(r.qs))
	for i, q := range r.qs {
		names[i] = q.name
	}
	clear(r.qs)
	clear(r.keys)
	v.mu.RUnlock()
	sort.Strings(names)
	return names, nil
}
