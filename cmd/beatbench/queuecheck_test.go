package main

import "testing"

func TestQueueCheck(t *testing.T) {
	for _, tc := range []struct {
		c             queueCheck
		lo, hi        int64
		lost, surplus int64
	}{
		{queueCheck{Attempted: 100, Confirmed: 100, Consumed: 40, Length: 60}, 60, 60, 0, 0},
		{queueCheck{Attempted: 120, Confirmed: 100, Consumed: 40, Length: 70}, 60, 80, 0, 0}, // unconfirmed partly there
		{queueCheck{Attempted: 120, Confirmed: 100, Consumed: 40, Length: 59}, 60, 80, 1, 0}, // one confirmed missing
		{queueCheck{Attempted: 120, Confirmed: 100, Consumed: 40, Length: 81}, 60, 80, 0, 1}, // one too many
		{queueCheck{Attempted: 50, Confirmed: 10, Consumed: 30, Length: 0}, -20, 20, 0, 0},   // consumed before confirmed
	} {
		lo, hi := tc.c.bounds()
		if lo != tc.lo || hi != tc.hi || tc.c.lost() != tc.lost || tc.c.surplus() != tc.surplus {
			t.Errorf("%+v: bounds %d..%d lost %d surplus %d; want %d..%d, %d, %d",
				tc.c, lo, hi, tc.c.lost(), tc.c.surplus(), tc.lo, tc.hi, tc.lost, tc.surplus)
		}
	}
}
