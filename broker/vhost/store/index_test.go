package store

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQueueIndex drives a queueIndex and a map with the same random
// operations, ids mostly growing with some out of order (as compaction
// copies and reused ids give), and compares them after each step.
func TestQueueIndex(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		var q queueIndex
		want := map[uint64]entry{}
		next := uint64(1)
		for step := range 3000 {
			switch op := r.IntN(10); {
			case op < 5: // a new id, or an old one out of order
				id := next
				if r.IntN(6) == 0 && next > 1 {
					id = 1 + r.Uint64N(next)
				} else {
					next++
				}
				e := entry{seg: uint32(step), off: uint32(id), size: 1 + uint32(r.IntN(100))}
				q.set(id, e)
				want[id] = e
			case op < 8: // settle, mostly near the front
				if len(want) == 0 {
					continue
				}
				id := 1 + r.Uint64N(next)
				if r.IntN(2) == 0 {
					id = 1 + r.Uint64N(min(next, 50+next/4))
				}
				e, ok := q.remove(id)
				we, wok := want[id]
				if ok != wok || e != we {
					t.Fatalf("seed %d step %d: remove(%d) = %v %v, want %v %v", seed, step, id, e, ok, we, wok)
				}
				delete(want, id)
			default: // flag
				id := 1 + r.Uint64N(next)
				e, ok := q.get(id)
				we, wok := want[id]
				if ok != wok || e != we {
					t.Fatalf("seed %d step %d: get(%d) = %v %v, want %v %v", seed, step, id, e, ok, we, wok)
				}
				if ok {
					e.flags ^= 1
					q.update(id, e)
					want[id] = e
				}
			}
			if q.live != len(want) {
				t.Fatalf("seed %d step %d: live %d, want %d", seed, step, q.live, len(want))
			}
		}
		var ids []uint64
		q.each(func(id uint64, e entry) {
			if want[id] != e {
				t.Fatalf("seed %d: each gives %d %v, want %v", seed, id, e, want[id])
			}
			ids = append(ids, id)
		})
		if len(ids) != len(want) || !slices.IsSorted(ids) {
			t.Fatalf("seed %d: each gave %d ids (sorted %v), want %d", seed, len(ids), slices.IsSorted(ids), len(want))
		}
	}
}
