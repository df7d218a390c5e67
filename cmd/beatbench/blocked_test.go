package main

import (
	"testing"
	"time"
)

func TestBlockTracker(t *testing.T) {
	now := time.Unix(1000, 0)
	b := &blockTracker{now: func() time.Time { return now }}
	if s := b.state(); s.Blocked || s.Count != 0 || s.Total != 0 {
		t.Fatalf("fresh state %+v", s)
	}
	b.set(true, "low on memory")
	now = now.Add(2 * time.Second)
	b.set(true, "again") // a repeated blocked changes nothing
	if s := b.state(); !s.Blocked || s.For != 2*time.Second || s.Total != 2*time.Second || s.Count != 1 || s.Reason != "low on memory" {
		t.Fatalf("while blocked %+v", s)
	}
	b.set(false, "")
	now = now.Add(5 * time.Second)
	b.set(false, "")
	b.set(true, "low on disk")
	now = now.Add(time.Second)
	if s := b.state(); !s.Blocked || s.For != time.Second || s.Total != 3*time.Second || s.Count != 2 || s.Reason != "low on disk" {
		t.Fatalf("second block %+v", s)
	}
	var nilTracker *blockTracker
	nilTracker.set(true, "x")
	if s := nilTracker.state(); s.Blocked {
		t.Fatal("nil tracker blocked")
	}
}
