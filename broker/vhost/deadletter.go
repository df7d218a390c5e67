package vhost

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// Dead-letter reasons, as the x-death header names them.
const (
	reasonRejected = "rejected"
	reasonExpired  = "expired"
	reasonMaxlen   = "maxlen"
)

// deadLetter is a message leaving a queue for its dead-letter exchange,
// published once the queue's lock is released.
type deadLetter struct {
	msg    *Message
	reason string
}

// deadLetter dead-letters m for reason: to the queue's dead-letter
// exchange, published when q.mu is released, or, without one, nowhere
// (counted, as rabbit_amqqueue_process's with_dlx/3 counts it with
// strategy disabled). q.mu held.
func (q *Queue) deadLetter(m *Message, reason string) {
	if q.cfg.hasDLX {
		q.dead = append(q.dead, deadLetter{msg: m, reason: reason})
		return
	}
	q.v.deadLettered(q, deadReason(reason), DeadDisabled)
}

// deadReason is the counter of an x-death reason.
func deadReason(reason string) DeadLetterReason {
	switch reason {
	case reasonExpired:
		return DeadExpired
	case reasonRejected:
		return DeadRejected
	case reasonDeliveryLimit:
		return DeadDeliveryLimit
	}
	return DeadMaxlen
}

// publishDeadLetters is rabbit_dead_letter:publish/5 for each message: the
// message gets an x-death entry and goes to the queue's dead-letter exchange
// with the dead-letter routing key or its own routing keys. A missing
// exchange drops it. Called with no lock held.
func (v *VHost) publishDeadLetters(q *Queue, dead []deadLetter) {
	// A policy may change the dead-letter exchange: read it once, under
	// the queue's lock.
	q.mu.Lock()
	cfg := q.cfg
	q.mu.Unlock()
	if !cfg.hasDLX {
		return
	}
	r := routerPool.Get().(*router)
	defer routerPool.Put(r)
	now := time.Now()
	for _, d := range dead {
		msg := makeDeadLetter(d.msg, d.reason, cfg.dlx, cfg.dlrk, cfg.hasDLRK, q.name, now)
		v.mu.RLock()
		x := v.exchanges[cfg.dlx]
		if x == nil {
			v.mu.RUnlock()
			v.deadLettered(q, deadReason(d.reason), DeadDisabled)
			continue
		}
		v.deadLettered(q, deadReason(d.reason), DeadAtMostOnce)
		r.keys = appendRoutingKeys(r.keys[:0], msg.RoutingKey, msg)
		v.routeLocked(r, x, r.keys, msg.Headers)
		v.mu.RUnlock()
		clear(r.keys)
		for _, name := range r.replies {
			v.deliverReply(name, msg)
		}
		clear(r.replies)
		qs := r.qs
		if d.reason != reasonRejected {
			qs = v.dropCycles(qs, msg.Headers)
		}
		sid, _, _ := v.persist(msg, qs, nil)
		for _, dq := range qs {
			dq.publish(msg, sid)
		}
		clear(r.qs)
	}
}

// makeDeadLetter is rabbit_dead_letter:make_msg/5: the x-death header is
// updated, the expiration property removed, and the message re-addressed to
// the dead-letter exchange. With a dead-letter routing key it is routed
// with that key alone (the CC header goes); without, with the keys it was
// published with, BCC ones included.
func makeDeadLetter(m *Message, reason, dlx, dlrk string, hasDLRK bool, queue string, now time.Time) *Message {
	p, err := amqp.DecodeProperties(m.Properties)
	if err != nil && len(m.Properties) > 0 {
		// The properties decoded when the message was published; a message
		// built without them is treated as having none.
		p = amqp.Properties{}
	}
	routingKeys := append([]any{m.RoutingKey}, headerRoutes(m.Headers)...)
	info := amqp.Table{
		{Name: "reason", Value: reason},
		{Name: "queue", Value: queue},
		{Name: "time", Value: now.Truncate(time.Second)},
		{Name: "exchange", Value: m.Exchange},
		{Name: "routing-keys", Value: routingKeys},
	}
	if p.Flags&amqp.FlagExpiration != 0 || p.Expiration != "" {
		info = append(info, amqp.Field{Name: "original-expiration", Value: p.Expiration})
	}
	headers := updateXDeath(info, slices.Clone(p.Headers), queue, reason, m.Exchange)
	newKey, cc, bcc := m.RoutingKey, m.ccKeys(), m.bccKeys()
	if hasDLRK {
		newKey, cc, bcc = dlrk, nil, nil
		headers = deleteField(headers, "CC")
	}
	p.Headers = headers
	p.Flags |= amqp.FlagHeaders
	p.Flags &^= amqp.FlagExpiration
	p.Expiration = ""
	props := amqp.AppendProperties(nil, &p)
	dm := &Message{
		Exchange:     dlx,
		RoutingKey:   newKey,
		Properties:   props,
		Body:         m.Body,
		Headers:      headers,
		expirationMs: -1,
		persistent:   p.DeliveryMode == 2,
	}
	if len(cc) > 0 || len(bcc) > 0 {
		dm.ext = &messageExtra{cc: cc, bcc: bcc}
	}
	return dm
}

// updateXDeath is rabbit_dead_letter:update_x_death_header/2. The first
// death adds x-first-death-* and an x-death array of one table (count first,
// fields in RabbitMQ's order); a later death for the same queue and reason
// increments that entry's count and moves it to the front, sorted by key; a
// new queue or reason goes in front. The headers end up sorted by key, as
// rabbit_misc:set_table_value/4 leaves them.
func updateXDeath(info, headers amqp.Table, queue, reason, exchange string) amqp.Table {
	xd, ok := headers.Get("x-death")
	arr, isArr := xd.([]any)
	switch {
	case !ok:
		headers = setField(headers, "x-first-death-reason", reason)
		headers = setField(headers, "x-first-death-queue", queue)
		headers = setField(headers, "x-first-death-exchange", exchange)
		entry := append(amqp.Table{{Name: "count", Value: int64(1)}}, info...)
		headers = setField(headers, "x-death", []any{entry})
	case isArr:
		tables := groupXDeath(arr)
		var match amqp.Table
		others := make([]any, 0, len(tables))
		for _, t := range tables {
			if match == nil && xdeathKey(t, "queue") == queue && xdeathKey(t, "reason") == reason {
				match = t
				continue
			}
			others = append(others, t)
		}
		var entry amqp.Table
		if match == nil {
			entry = append(amqp.Table{{Name: "count", Value: int64(1)}}, info...)
		} else {
			entry = incrementCount(match)
		}
		entry = sortTable(entry)
		headers = setField(headers, "x-death", append([]any{entry}, others...))
	default:
		// Not an array (a client re-published it as something else):
		// RabbitMQ starts over.
		entry := append(amqp.Table{{Name: "count", Value: int64(1)}}, info...)
		headers = setField(headers, "x-death", []any{entry})
	}
	return headers
}

// groupXDeath is rabbit_dead_letter:group_by_queue_and_reason/1: entries from
// before counts existed are merged per queue and reason.
func groupXDeath(arr []any) []amqp.Table {
	var tables []amqp.Table
	for _, e := range arr {
		if t := asTable(e); t != nil {
			tables = append(tables, t)
		}
	}
	if len(tables) < 2 {
		return tables
	}
	type key struct{ q, r string }
	seen := map[key]bool{}
	var out []amqp.Table
	for _, t := range tables {
		k := key{xdeathKey(t, "queue"), xdeathKey(t, "reason")}
		if seen[k] {
			continue
		}
		seen[k] = true
		n := 0
		for _, u := range tables {
			if xdeathKey(u, "queue") == k.q && xdeathKey(u, "reason") == k.r {
				n++
			}
		}
		if _, ok := t.Get("count"); !ok {
			t = append(amqp.Table{{Name: "count", Value: int64(n)}}, t...)
		}
		out = append(out, t)
	}
	return out
}

func xdeathKey(t amqp.Table, key string) string {
	v, _ := t.Get(key)
	s, _ := v.(string)
	return s
}

func incrementCount(t amqp.Table) amqp.Table {
	out := slices.Clone(t)
	for i := range out {
		if out[i].Name == "count" {
			n, _ := intValue(out[i].Value)
			out[i].Value = n + 1
			return out
		}
	}
	return append(amqp.Table{{Name: "count", Value: int64(1)}}, out...)
}

// setField is rabbit_misc:set_table_value/4: replace (or add) key, then sort
// the table by key.
func setField(t amqp.Table, key string, v any) amqp.Table {
	found := false
	for i := range t {
		if t[i].Name == key {
			t[i].Value = v
			found = true
			break
		}
	}
	if !found {
		t = append(t, amqp.Field{Name: key, Value: v})
	}
	return sortTable(t)
}

func deleteField(t amqp.Table, key string) amqp.Table {
	for i := range t {
		if t[i].Name == key {
			return append(t[:i:i], t[i+1:]...)
		}
	}
	return t
}

// sortTable is rabbit_misc:sort_field_table/1 (a stable sort by key).
func sortTable(t amqp.Table) amqp.Table {
	slices.SortStableFunc(t, func(a, b amqp.Field) int { return strings.Compare(a.Name, b.Name) })
	return t
}

// dropCycles is rabbit_dead_letter:detect_cycles/3 for reasons other than
// rejected: a queue already in the x-death history is skipped when every
// death since its own was automatic (none rejected).
func (v *VHost) dropCycles(qs []*Queue, headers amqp.Table) []*Queue {
	xd, _ := headers.Get("x-death")
	deaths, ok := xd.([]any)
	if !ok {
		return qs
	}
	n := 0
	for _, q := range qs {
		if !isCycle(q.name, deaths) {
			qs[n] = q
			n++
			continue
		}
		v.logCycleOnce(q.name, deaths)
	}
	clear(qs[n:])
	return qs[:n]
}

// logCycleOnce is rabbit_dead_letter:log_cycle_once/1: one warning per
// cycle (the queue and the queues of its x-death history).
func (v *VHost) logCycleOnce(queue string, deaths []any) {
	cycle := []string{queue}
	for _, d := range deaths {
		if t := asTable(d); t != nil {
			cycle = append(cycle, xdeathKey(t, "queue"))
		}
	}
	key := strings.Join(cycle, "\x00")
	v.cyclesMu.Lock()
	seen := v.cycles[key]
	if !seen {
		if v.cycles == nil {
			v.cycles = make(map[string]bool)
		}
		v.cycles[key] = true
	}
	v.cyclesMu.Unlock()
	if !seen {
		v.log.Warn("Message dropped. Dead-letter queues cycle detected: " + fmt.Sprint(cycle) + "\nThis cycle will NOT be reported again.")
	}
}

func isCycle(queue string, deaths []any) bool {
	for i, d := range deaths {
		t := asTable(d)
		if t == nil || xdeathKey(t, "queue") != queue {
			continue
		}
		for _, e := range deaths[:i+1] {
			et := asTable(e)
			if et == nil || xdeathKey(et, "reason") == reasonRejected {
				return false
			}
		}
		return true
	}
	return false
}
