package alarm

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
)

// Go's soft memory limit (runtime/debug.SetMemoryLimit) follows the memory
// high watermark, so that the collector works hard before the alarm rather
// than after it. Without it, GOGC=100 lets the heap grow to twice the live
// data before a collection: a broker whose live data is half the watermark
// could reach the watermark with garbage alone and block its publishers for
// nothing. With the limit below the watermark, the runtime collects (and
// returns freed pages to the system) more and more often as its memory nears
// the limit, and the alarm then goes on only when live data, not garbage,
// fills the watermark.
//
// The limit is the watermark less 5 % (goLimitMargin): the watermark is
// compared with the resident set size, while the Go limit counts only the
// memory the Go runtime maps (heap, stacks, runtime structures), not the
// binary's text and data; and the limit is soft, so the runtime may overshoot
// it between collections. 5 % keeps the collector's hardest work ahead of the
// alarm at any watermark of practical size (20 MiB of margin at 400 MiB, 480
// MiB at 9.6 GiB). It is never set below goLimitFloor: a watermark that low
// is under the broker's own live data, where the alarm, not the collector,
// must act, and a limit there would only burn CPU (up to half of it, the
// runtime's cap on collection under a limit) without freeing anything.
//
// The limit is process-wide: one monitor at a time drives it (the first to
// start), and Stop gives back the value it had before. An explicit GOMEMLIMIT
// in the environment wins: the operator chose, and the monitor leaves it.
const (
	goLimitMargin = 0.05
	goLimitFloor  = 64 << 20
)

// goLimitMu guards goLimitOwner: which monitor drives Go's memory limit.
var (
	goLimitMu    sync.Mutex // taken after a monitor's mu
	goLimitOwner *MemoryMonitor
)

// goMemoryLimitFor is the Go memory limit for a high watermark of limit bytes.
func goMemoryLimitFor(limit uint64) int64 {
	l := uint64(float64(limit) * (1 - goLimitMargin))
	if l < goLimitFloor {
		l = goLimitFloor
	}
	if l > 1<<62 {
		l = 1 << 62
	}
	return int64(l)
}

// DriveGoMemoryLimit makes the monitor set Go's soft memory limit from Start
// to Stop to a little below the high watermark (see goLimitMargin), and
// follow SetHighWatermark, unless the GOMEMLIMIT environment variable is set
// or another monitor already drives it. Call it before Start.
func (m *MemoryMonitor) DriveGoMemoryLimit() {
	m.mu.Lock()
	m.goLimit = true
	m.mu.Unlock()
}

// GoMemoryLimit reports the limit this monitor has set (runtime/debug's
// SetMemoryLimit), or 0 when it sets none.
func (m *MemoryMonitor) GoMemoryLimit() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.goLimitOwns {
		return 0
	}
	return goMemoryLimitFor(limitOf(m.fraction, m.total))
}

// acquireGoLimitLocked takes the process's memory limit if it is free and
// GOMEMLIMIT is not set, and sets it. m.mu held.
func (m *MemoryMonitor) acquireGoLimitLocked() {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		m.log.Info(fmt.Sprintf("GOMEMLIMIT=%s is set: Go's memory limit does not follow the memory high watermark", v))
		return
	}
	goLimitMu.Lock()
	defer goLimitMu.Unlock()
	if goLimitOwner != nil {
		return
	}
	goLimitOwner = m
	m.goLimitOwns = true
	m.goLimitPrev = debug.SetMemoryLimit(goMemoryLimitFor(limitOf(m.fraction, m.total)))
}

// setGoLimitLocked follows a new watermark. m.mu held.
func (m *MemoryMonitor) setGoLimitLocked() {
	if m.goLimitOwns {
		debug.SetMemoryLimit(goMemoryLimitFor(limitOf(m.fraction, m.total)))
	}
}

// releaseGoLimitLocked restores the limit from before Start. m.mu held.
func (m *MemoryMonitor) releaseGoLimitLocked() {
	if !m.goLimitOwns {
		return
	}
	goLimitMu.Lock()
	defer goLimitMu.Unlock()
	debug.SetMemoryLimit(m.goLimitPrev)
	goLimitOwner = nil
	m.goLimitOwns = false
}
