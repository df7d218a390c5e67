// Package alarm holds beatmq's resource alarms, as RabbitMQ's
// vm_memory_monitor and rabbit_disk_monitor raise them: process-wide sampling
// that lives outside the connection core and reaches the broker only through
// its public alarm switch (broker.Server.SetAlarm). Nothing starts unless
// asked: a stand-alone beatmq starts the memory monitor and, with a data
// directory, the disk monitor; brokertest only with WithMemoryMonitor or
// WithDiskFreeLimit.
package alarm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// DefaultMemoryHighWatermark is RabbitMQ's vm_memory_high_watermark: the
// fraction of the machine's memory above which publishers are blocked.
const DefaultMemoryHighWatermark = 0.4

// memoryCheckInterval is how often the memory monitor looks
// (vm_memory_monitor's default interval is 1 s).
const memoryCheckInterval = time.Second

// defaultTotalMemory is assumed when the machine's memory cannot be read, as
// vm_memory_monitor assumes 1 GiB.
const defaultTotalMemory = 1 << 30

// MemoryStatus is the memory alarm's view of the broker.
type MemoryStatus struct {
	// Used is the broker's resident memory in bytes (RSS, as RabbitMQ's
	// default rss strategy counts it).
	Used uint64
	// Total is the machine's memory in bytes (MemTotal).
	Total uint64
	// HighWatermark is the fraction of Total above which the alarm is on.
	HighWatermark float64
	// Limit is HighWatermark × Total in bytes.
	Limit uint64
	// Alarm tells whether the memory alarm is in effect.
	Alarm bool
}

// The resources the monitors raise alarms for, as broker.AlarmMemory and
// broker.AlarmDisk name them.
const (
	// Memory is the memory alarm's resource.
	Memory = "memory"
	// Disk is the free disk space alarm's resource.
	Disk = "disk"
)

// Target is what an alarm raises and clears: broker.Server.SetAlarm. The
// memory and disk alarms are independent: each monitor raises and clears
// only its own resource.
type Target interface {
	SetAlarm(resource string, on bool)
}

// MemoryMonitor is RabbitMQ's vm_memory_monitor: every second it compares
// the process's memory use with the high watermark and raises or clears the
// memory alarm on its Target. Its goroutine runs from Start to Stop. All
// methods are safe for concurrent use.
type MemoryMonitor struct {
	target Target
	log    *slog.Logger

	// checkMu serialises checks, so that alarm changes reach SetBlocked in
	// the order they were decided. Taken before mu.
	checkMu sync.Mutex

	mu       sync.Mutex // leaf; guards the fields below
	fraction float64
	total    uint64
	used     uint64
	alarm    bool
	loop     loop
	// goLimit: Go's soft memory limit follows the watermark (gomemlimit.go).
	goLimit     bool
	goLimitOwns bool  // this monitor set the limit and restores it on Stop
	goLimitPrev int64 // the limit before Start
}

// NewMemoryMonitor returns a monitor, not yet started, that raises and
// clears the memory alarm on target when the process's resident memory
// crosses fraction (0 to 1) of the machine's memory. log may be nil.
func NewMemoryMonitor(target Target, fraction float64, log *slog.Logger) (*MemoryMonitor, error) {
	if err := checkFraction(fraction); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MemoryMonitor{target: target, log: log, fraction: fraction, total: totalMemory()}, nil
}

// Start logs the high watermark as RabbitMQ does at boot, ties Go's memory
// limit to it if DriveGoMemoryLimit was called, and runs the monitor's
// goroutine (a first check at once, then one every second), unless it runs
// or has been stopped.
func (m *MemoryMonitor) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loop.begin() {
		return
	}
	m.logWatermark(m.fraction)
	if m.goLimit {
		m.acquireGoLimitLocked()
	}
	go m.run()
}

// Stop stops the goroutine and waits for it, and gives Go's memory limit
// back the value it had before Start. Safe to call more than once.
func (m *MemoryMonitor) Stop() {
	m.mu.Lock()
	wait := m.loop.end()
	m.mu.Unlock()
	wait()
	m.mu.Lock()
	m.releaseGoLimitLocked()
	m.mu.Unlock()
}

func (m *MemoryMonitor) run() {
	defer close(m.loop.done)
	m.check()
	t := time.NewTicker(memoryCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-m.loop.stop:
			return
		case <-t.C:
			m.check()
		}
	}
}

// check measures and raises or clears the alarm when the limit calls for it
// (vm_memory_monitor:internal_update/1: alarm when used > limit).
func (m *MemoryMonitor) check() {
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	used := processMemory()
	m.mu.Lock()
	m.used = used
	limit := limitOf(m.fraction, m.total)
	alarm := used > limit
	changed := alarm != m.alarm
	m.alarm = alarm
	m.mu.Unlock()
	if changed {
		// vm_memory_monitor:emit_update_info/3, then the alarm.
		state := "clear"
		if alarm {
			state = "set"
		}
		m.log.Info(fmt.Sprintf("vm_memory_high_watermark %s. Memory used:%d allowed:%d", state, used, limit))
		m.target.SetAlarm(Memory, alarm)
	}
}

func checkFraction(fraction float64) error {
	if math.IsNaN(fraction) || fraction < 0 || fraction > 1 {
		return fmt.Errorf("memory high watermark %v: want a fraction between 0.0 and 1.0", fraction)
	}
	return nil
}

// SetHighWatermark sets the memory high watermark to fraction (0 to 1) of
// the machine's memory, as rabbitmqctl set_vm_memory_high_watermark does,
// and raises or clears the memory alarm at once if the new limit calls for
// it.
func (m *MemoryMonitor) SetHighWatermark(fraction float64) error {
	if err := checkFraction(fraction); err != nil {
		return err
	}
	m.mu.Lock()
	old := m.fraction
	m.fraction = fraction
	if old != fraction {
		m.logWatermark(fraction)
		m.setGoLimitLocked()
	}
	m.mu.Unlock()
	m.check()
	return nil
}

// logWatermark logs the limit as vm_memory_monitor:set_mem_limits/2 does.
func (m *MemoryMonitor) logWatermark(fraction float64) {
	limit := limitOf(fraction, m.total)
	m.log.Info(fmt.Sprintf("Memory high watermark set to %d MiB (%d bytes) of %d MiB (%d bytes) total",
		limit>>20, limit, m.total>>20, m.total))
}

// Status reports the process's memory use against the high watermark.
func (m *MemoryMonitor) Status() MemoryStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	used := m.used
	if !m.loop.started {
		used = processMemory()
	}
	return MemoryStatus{Used: used, Total: m.total, HighWatermark: m.fraction, Limit: limitOf(m.fraction, m.total), Alarm: m.alarm}
}

func limitOf(fraction float64, total uint64) uint64 { return uint64(fraction * float64(total)) }

// totalMemory is MemTotal from /proc/meminfo.
func totalMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return defaultTotalMemory
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemTotal:" {
			if kb, err := strconv.ParseUint(string(f[1]), 10, 64); err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return defaultTotalMemory
}

var errNoStatm = errors.New("no resident size in /proc/self/statm")

// ResidentMemory is the broker's memory as the memory monitor measures it
// (RabbitMQ's rss strategy), read now: for metrics when no monitor runs.
func ResidentMemory() uint64 { return processMemory() }

// processMemory is the broker's resident set size, from /proc/self/statm;
// where that is missing, the memory the Go runtime holds from the system.
func processMemory() uint64 {
	if rss, err := residentMemory(); err == nil {
		return rss
	}
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 || sample[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64() - sample[1].Value.Uint64()
}

func residentMemory() (uint64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, errNoStatm
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * uint64(os.Getpagesize()), nil
}
