package alarm

import (
	"testing"
	"time"
)

func TestDiskInterval(t *testing.T) {
	const limit = 50_000_000
	for _, c := range []struct {
		name     string
		free     uint64
		alarmed  bool
		fallRate float64
		want     time.Duration
	}{
		{"far: capped at 1 s", limit + 100<<30, false, 0, diskMaxInterval},
		{"1 GiB of headroom: 1 s", limit + 1<<30, false, 0, time.Second},
		{"512 MiB: half a second", limit + 512<<20, false, 0, 500 * time.Millisecond},
		{"100 MiB at 1 GiB/s", limit + 100<<20, false, 0, time.Duration(float64(100<<20) / (1 << 30) * float64(time.Second))},
		{"a slow fall does not lengthen it", limit + 100<<20, false, 1 << 20, time.Duration(float64(100<<20) / (1 << 30) * float64(time.Second))},
		{"a fall at 2 GiB/s: twice that rate", limit + 400<<20, false, 2 << 30, time.Duration(float64(400<<20) / (4 << 30) * float64(time.Second))},
		{"close: the 10 ms floor", limit + 1<<20, false, 0, diskMinInterval},
		{"at the limit: the floor", limit, false, 0, diskMinInterval},
		{"a very fast fall: the floor", limit + 100<<20, false, 100 << 30, diskMinInterval},
		{"below the limit", limit - 1, false, 0, diskAlarmedInterval},
		{"alarmed", limit - 1<<20, true, 0, diskAlarmedInterval},
		{"alarmed, space back", limit + 10<<30, true, 0, diskAlarmedInterval},
	} {
		if got := diskInterval(c.free, limit, c.alarmed, c.fallRate); got != c.want {
			t.Errorf("%s: diskInterval(%d, %d, %v, %v) = %v, want %v", c.name, c.free, limit, c.alarmed, c.fallRate, got, c.want)
		}
	}
	// Monotonic in the headroom: less room never means a longer wait.
	prev := time.Duration(0)
	for free := uint64(limit); free < limit+4<<30; free += 7 << 20 {
		d := diskInterval(free, limit, false, 0)
		if d < prev || d < diskMinInterval || d > diskMaxInterval {
			t.Fatalf("diskInterval(%d) = %v after %v", free, d, prev)
		}
		prev = d
	}
}
