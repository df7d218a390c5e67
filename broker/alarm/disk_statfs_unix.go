//go:build unix

package alarm

import "syscall"

// freeBytes is the space on dir's filesystem available to the broker: what
// df's "Available" column shows (f_bavail × f_bsize), which
// rabbit_disk_monitor reads from `df -kP`. Blocks reserved for root are not
// counted, even when the broker runs as root, as df does not count them.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
