package vhost

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestRingAgainstSlice drives a ring and a slice with the same random
// operations and compares them after each.
func TestRingAgainstSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var rg ring[int]
	var sl []int
	for i := 0; i < 20000; i++ {
		switch op := r.IntN(10); {
		case op < 3:
			rg.PushBack(i)
			sl = append(sl, i)
		case op < 5:
			rg.PushFront(i)
			sl = append([]int{i}, sl...)
		case op < 7 && len(sl) > 0:
			if got := rg.PopFront(); got != sl[0] {
				t.Fatalf("PopFront %d, want %d", got, sl[0])
			}
			sl = sl[1:]
		case op < 8 && len(sl) > 0:
			if got := rg.PopBack(); got != sl[len(sl)-1] {
				t.Fatalf("PopBack %d, want %d", got, sl[len(sl)-1])
			}
			sl = sl[:len(sl)-1]
		case op < 9 && len(sl) > 0:
			k := r.IntN(len(sl))
			rg.RemoveAt(k)
			sl = slices.Delete(sl, k, k+1)
		case len(sl) > 0 && r.IntN(50) == 0:
			rg.Replace(slices.Clone(sl))
		}
		if rg.Len() != len(sl) || !slices.Equal(rg.Slice(), sl) {
			t.Fatalf("step %d: ring %v, slice %v", i, rg.Slice(), sl)
		}
	}
}

// TestUnackedOutOfOrder acks single deliveries in random order, which
// leaves tombstones and compacts them, and checks tags stay findable.
func TestUnackedOutOfOrder(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	const n = 500
	publishN(e, "q", n)
	for i := 0; i < n; i++ {
		e.get(e.s, e.k, "q", false)
	}
	tags := make([]uint64, n)
	for i := range tags {
		tags[i] = uint64(i + 1)
	}
	r := rand.New(rand.NewPCG(3, 3))
	r.Shuffle(n, func(i, j int) { tags[i], tags[j] = tags[j], tags[i] })
	for i, tag := range tags[:n-1] {
		noErr(t, e.s.Ack(tag, false))
		wantErr(t, e.s.Ack(tag, false), 406, "PRECONDITION_FAILED - unknown delivery tag "+strconv.FormatUint(tag, 10))
		if got := e.s.Unacked(); got != n-1-i {
			t.Fatalf("after %d acks %d unacked", i+1, got)
		}
	}
	noErr(t, e.s.Ack(tags[n-1], true))
	if info, _ := e.v.Queue("q"); info.Messages != 0 {
		t.Fatalf("left %+v", info)
	}
}
