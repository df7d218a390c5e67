package alarm

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DiskStatus is the disk alarm's view of the data directory's filesystem.
type DiskStatus struct {
	// Dir is the directory whose filesystem is watched.
	Dir string
	// Free is the space available there at the last check, in bytes.
	Free uint64
	// Limit is the disk free limit in bytes; below it the alarm is on.
	Limit uint64
	// LimitSetting is the limit as configured (bytes or mem_relative).
	LimitSetting DiskFreeLimit
	// Alarm tells whether the disk alarm is in effect.
	Alarm bool
	// Interval is the wait before the next check (see diskInterval).
	Interval time.Duration
}

// DiskMonitor is RabbitMQ's rabbit_disk_monitor: it checks the free space on
// the data directory's filesystem, raises the disk alarm on its Target when
// it falls below the limit and clears it when it is back at or above it. The
// wait between checks adapts to the headroom and to how fast it shrinks
// (disk_interval.go). Its goroutine runs from Start to Stop. All methods are
// safe for concurrent use.
type DiskMonitor struct {
	target Target
	log    *slog.Logger
	dir    string
	total  uint64 // the machine's memory, for mem_relative limits
	free   func(dir string) (uint64, error)

	// checkMu serialises checks, so that alarm changes reach the target in
	// the order they were decided. Taken before mu.
	checkMu sync.Mutex

	mu       sync.Mutex // leaf; guards the fields below
	setting  DiskFreeLimit
	limit    uint64
	avail    uint64    // free bytes at the last check
	lastAt   time.Time // when the last check measured
	fallRate float64   // bytes/s free space fell between the last two checks
	alarm    bool
	failing  bool // the last check could not measure (logged once)
	interval time.Duration
	loop     loop
	kick     chan struct{} // the limit changed: recompute the wait
}

// NewDiskMonitor returns a monitor, not yet started, that raises and clears
// the disk alarm on target when the free space on dir's filesystem crosses
// limit. It measures once, and fails if dir's filesystem cannot be read.
// log may be nil.
func NewDiskMonitor(target Target, dir string, limit DiskFreeLimit, log *slog.Logger) (*DiskMonitor, error) {
	return newDiskMonitor(target, dir, limit, log, freeBytes)
}

func newDiskMonitor(target Target, dir string, limit DiskFreeLimit, log *slog.Logger, free func(string) (uint64, error)) (*DiskMonitor, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	avail, err := free(dir)
	if err != nil {
		return nil, fmt.Errorf("free disk space monitor: %s: %w", dir, err)
	}
	d := &DiskMonitor{target: target, log: log, dir: dir, total: totalMemory(), free: free,
		setting: limit, avail: avail, lastAt: time.Now()}
	d.limit = limit.bytesOf(d.total)
	d.interval = diskInterval(avail, d.limit, false, 0)
	return d, nil
}

// Start logs RabbitMQ's boot lines ("Enabling free disk space monitoring",
// "Disk free limit set to 50MB"), checks at once, so that a disk already
// below the limit blocks publishers from the start, and runs the monitor's
// goroutine, unless it runs or has been stopped.
func (d *DiskMonitor) Start() {
	d.mu.Lock()
	if !d.loop.begin() {
		d.mu.Unlock()
		return
	}
	d.kick = make(chan struct{}, 1)
	limit := d.limit
	d.mu.Unlock()
	// rabbit_disk_monitor:enable/1, then set_disk_limits/2.
	d.log.Info("Enabling free disk space monitoring")
	d.logLimit(limit)
	d.check()
	go d.run()
}

// Stop stops the goroutine and waits for it. The alarm is left as it is.
// Safe to call more than once.
func (d *DiskMonitor) Stop() {
	d.mu.Lock()
	wait := d.loop.end()
	d.mu.Unlock()
	wait()
}

func (d *DiskMonitor) run() {
	defer close(d.loop.done)
	t := time.NewTimer(d.nextInterval())
	defer t.Stop()
	for {
		select {
		case <-d.loop.stop:
			return
		case <-d.kick:
			t.Reset(d.nextInterval())
		case <-t.C:
			d.check()
			t.Reset(d.nextInterval())
		}
	}
}

func (d *DiskMonitor) nextInterval() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.interval
}

// check measures the free space and raises or clears the alarm
// (rabbit_disk_monitor:internal_update/1: alarm when free < limit). A failed
// measurement keeps the alarm as it was and is logged once until one
// succeeds.
func (d *DiskMonitor) check() {
	d.checkMu.Lock()
	defer d.checkMu.Unlock()
	avail, err := d.free(d.dir)
	now := time.Now()
	d.mu.Lock()
	if err != nil {
		first := !d.failing
		d.failing = true
		d.interval = diskMaxInterval
		d.mu.Unlock()
		if first {
			d.log.Error(fmt.Sprintf("Free disk space monitor encountered an error: %v", err))
		}
		return
	}
	d.failing = false
	if dt := now.Sub(d.lastAt).Seconds(); dt > 0 && avail < d.avail {
		d.fallRate = float64(d.avail-avail) / dt
	} else {
		d.fallRate = 0
	}
	d.avail, d.lastAt = avail, now
	limit := d.limit
	alarm := avail < limit
	changed := alarm != d.alarm
	d.alarm = alarm
	d.interval = diskInterval(avail, limit, alarm, d.fallRate)
	d.mu.Unlock()
	if !changed {
		return
	}
	// rabbit_disk_monitor:emit_update_info/3, then the alarm.
	state := "sufficient"
	if alarm {
		state = "insufficient"
	}
	d.log.Info(fmt.Sprintf("Free disk space is %s. Free bytes: %d. Limit: %d", state, avail, limit))
	d.target.SetAlarm(Disk, alarm)
}

// SetLimit sets the disk free limit, as rabbitmqctl set_disk_free_limit
// does: it logs "Disk free limit set to NMB", checks at once, raising or
// clearing the alarm if the new limit calls for it, and adapts the wait
// before the next check.
func (d *DiskMonitor) SetLimit(limit DiskFreeLimit) {
	d.mu.Lock()
	d.setting = limit
	d.limit = limit.bytesOf(d.total)
	bytes := d.limit
	kick := d.kick
	d.mu.Unlock()
	d.logLimit(bytes)
	d.check()
	if kick != nil {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
}

// logLimit logs the limit as rabbit_disk_monitor:set_disk_limits/2 does, in
// whole decimal megabytes.
func (d *DiskMonitor) logLimit(limit uint64) {
	d.log.Info(fmt.Sprintf("Disk free limit set to %dMB", limit/1_000_000))
}

// Status reports the free space against the limit as of the last check.
func (d *DiskMonitor) Status() DiskStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DiskStatus{Dir: d.dir, Free: d.avail, Limit: d.limit, LimitSetting: d.setting, Alarm: d.alarm, Interval: d.interval}
}
