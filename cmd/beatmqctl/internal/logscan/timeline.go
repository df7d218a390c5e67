package logscan

import "time"

// Bucket is one interval of the timeline.
type Bucket struct {
	Start time.Time `json:"start"`
	Counts
}

// Timeline is the events per interval, from the first to the last event.
type Timeline struct {
	Interval        string   `json:"interval"`
	IntervalSeconds float64  `json:"interval_seconds"`
	Buckets         []Bucket `json:"buckets"`
}

// steps are the timeline intervals to choose from.
var steps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour,
}

// maxBuckets is the most buckets a timeline whose interval is chosen has;
// maxTimelineBuckets the most any has (--interval too small for the span).
const (
	maxBuckets         = 24
	maxTimelineBuckets = 10000
)

// timeline buckets the counted events; every interval from the first event
// to the last is listed, empty ones included.
func timeline(evs []*Event, interval time.Duration) Timeline {
	tl := Timeline{Buckets: []Bucket{}}
	if len(evs) == 0 {
		return tl
	}
	first, last := evs[0].Time, evs[0].Time
	for _, ev := range evs {
		if ev.Time.Before(first) {
			first = ev.Time
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
	}
	// In whole seconds since the epoch: a Duration between years 0 and
	// 9999 (which a damaged line can carry) would overflow.
	buckets := func(step int64) int64 { return (floorTo(last, step)-floorTo(first, step))/step + 1 }
	if interval > 0 {
		interval = max(interval.Truncate(time.Second), time.Second) // buckets are whole seconds
	} else {
		interval = steps[len(steps)-1]
		for _, st := range steps {
			if buckets(int64(st/time.Second)) <= maxBuckets {
				interval = st
				break
			}
		}
	}
	// An interval far too small for the span is widened.
	for buckets(int64(interval/time.Second)) > maxTimelineBuckets {
		interval *= 2
	}
	step := int64(interval / time.Second)
	start := floorTo(first, step)
	n := int(buckets(step))
	tl.Interval, tl.IntervalSeconds = interval.String(), interval.Seconds()
	tl.Buckets = make([]Bucket, n)
	for i := range tl.Buckets {
		tl.Buckets[i].Start = time.Unix(start+int64(i)*step, 0).UTC()
	}
	for _, ev := range evs {
		i := int((floorTo(ev.Time, step) - start) / step)
		if i >= 0 && i < n {
			tl.Buckets[i].add(ev, false)
		}
	}
	return tl
}

// floorTo is the start of t's bucket of step seconds, in Unix seconds.
func floorTo(t time.Time, step int64) int64 {
	u := t.Unix()
	if r := u % step; r != 0 {
		if u < 0 {
			return u - r - step
		}
		return u - r
	}
	return u
}
