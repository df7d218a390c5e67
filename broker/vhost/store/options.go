package store

import (
	"fmt"
	"log/slog"
)

// SyncMode says when a publish is complete.
type SyncMode int

const (
	// SyncData completes a publish once fdatasync has returned for the
	// write that holds it: the message survives a power cut. This is
	// RabbitMQ 3.10's behaviour for confirms of persistent messages.
	SyncData SyncMode = iota
	// SyncWrite completes a publish once write(2) has returned: the
	// message survives a killed process (it is in the kernel's page
	// cache) but not a power cut or a kernel crash.
	SyncWrite
)

// String returns "data" or "write", the names the --sync flag will take.
func (m SyncMode) String() string {
	switch m {
	case SyncData:
		return "data"
	case SyncWrite:
		return "write"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Options configure a Store. The zero value is valid: every zero field
// takes the default shown in DefaultOptions.
type Options struct {
	// SegmentSize is the size at which the active segment is sealed and
	// a new one started (a single record larger than it gets a segment
	// of its own). Default 8 MiB, as LavinMQ's segments; at least 64 KiB,
	// at most 1 GiB.
	SegmentSize int64
	// Sync says when a publish is complete. Default SyncData.
	Sync SyncMode
	// CompactBelow is the live fraction (live record bytes / segment
	// bytes) under which a sealed segment is compacted: its live records
	// are copied to the active segment and the file removed. Default 0.25;
	// a negative value turns compaction off (settled segments are still
	// removed).
	CompactBelow float64
	// MaxPending is how many bytes may wait for the writer before
	// Publish blocks until it catches up. Default 64 MiB.
	MaxPending int
	// Logger receives recovery reports (what a torn tail cut) and
	// compaction events. Nil discards them.
	Logger *slog.Logger

	// BeforeBatch, if set, is called by the writer before it writes each
	// batch, with no lock held: tests stand in for a slow disk by blocking
	// in it. Nil in production.
	BeforeBatch func()

	// noSummaries makes recovery scan every segment (benchmarks compare).
	noSummaries bool
}

// DefaultOptions returns the options the zero value stands for.
func DefaultOptions() Options {
	return Options{
		SegmentSize:  8 << 20,
		Sync:         SyncData,
		CompactBelow: 0.25,
		MaxPending:   64 << 20,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.SegmentSize == 0 {
		o.SegmentSize = d.SegmentSize
	}
	if o.CompactBelow == 0 {
		o.CompactBelow = d.CompactBelow
	}
	if o.MaxPending == 0 {
		o.MaxPending = d.MaxPending
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports an option out of range.
func (o Options) Validate() error {
	o = o.withDefaults()
	if o.SegmentSize < 64<<10 || o.SegmentSize > 1<<30 {
		return fmt.Errorf("store: SegmentSize %d out of range [64 KiB, 1 GiB]", o.SegmentSize)
	}
	if o.Sync != SyncData && o.Sync != SyncWrite {
		return fmt.Errorf("store: unknown sync mode %d", int(o.Sync))
	}
	if o.CompactBelow >= 1 {
		return fmt.Errorf("store: CompactBelow %v must be below 1", o.CompactBelow)
	}
	if o.MaxPending < 0 {
		return fmt.Errorf("store: negative MaxPending %d", o.MaxPending)
	}
	return nil
}
