package alarm

import "time"

// How often the disk monitor looks. rabbit_disk_monitor waits
// 2 × (free − limit) / 250 MB/s between checks, clamped to 100 ms–10 s, and
// 10 s while the alarm is on. beatmq's store writes faster than RabbitMQ's
// and a check is one statfs(2) of about a microsecond, so it looks more
// often:
//
//   - above the limit, the time the headroom (free − limit) lasts at the
//     faster of 1 GiB/s (a fast NVMe drive's sustained writes, more than the
//     store's single writer puts out) and twice the rate at which free space
//     actually fell since the last check: the next check comes before a disk
//     filling at that rate could cross the limit;
//   - at least diskMinInterval apart (within 10 MiB of the limit at 1 GiB/s:
//     100 checks a second, a tenth of a millisecond of CPU), at most
//     diskMaxInterval (1 GiB of headroom or more: once a second, as the
//     memory monitor, so an idle broker wakes up no more than that);
//   - every diskAlarmedInterval while the alarm is on: space comes back in
//     steps (a file deleted, a queue purged and its segments dropped), and
//     publishers wait at most that long after it does, where RabbitMQ's
//     10 s would keep them waiting.
const (
	diskMinInterval     = 10 * time.Millisecond
	diskMaxInterval     = time.Second
	diskAlarmedInterval = 100 * time.Millisecond
	diskFastRate        = 1 << 30 // bytes per second
)

// diskInterval is the wait before the next check, given the free space and
// the limit in bytes, whether the alarm is on, and the rate in bytes per
// second at which free space fell between the last two checks (0 if it did
// not fall).
func diskInterval(free, limit uint64, alarmed bool, fallRate float64) time.Duration {
	if alarmed || free < limit {
		return diskAlarmedInterval
	}
	rate := max(float64(diskFastRate), 2*fallRate)
	secs := float64(free-limit) / rate
	if secs >= diskMaxInterval.Seconds() {
		return diskMaxInterval
	}
	return max(diskMinInterval, time.Duration(secs*float64(time.Second)))
}
