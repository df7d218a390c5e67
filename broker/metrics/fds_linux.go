package metrics

import (
	"os"
	"syscall"
)

// fdCounts are the process's open file descriptors and their limit; -1
// when unknown.
type fdCounts struct{ open, max int64 }

// readFDs counts the entries of /proc/self/fd and reads RLIMIT_NOFILE's
// soft limit, as RabbitMQ reads its descriptors on Linux.
func readFDs() fdCounts {
	fds := fdCounts{open: -1, max: -1}
	if d, err := os.Open("/proc/self/fd"); err == nil {
		if names, err := d.Readdirnames(-1); err == nil {
			fds.open = int64(len(names)) - 1 // the descriptor reading the directory
		}
		_ = d.Close()
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur <= 1<<62 {
		fds.max = int64(rl.Cur)
	}
	return fds
}
