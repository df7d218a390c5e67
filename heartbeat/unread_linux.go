package heartbeat

import (
	"syscall"
	"unsafe"
)

// Unread reports whether the kernel holds octets received on the connection
// that Read has not returned yet (ioctl FIONREAD). It is false for a
// connection that is not a socket, and on any error. See Config.Unread.
func (c *CountingConn) Unread() bool {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var n int32
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	}); err != nil || errno != 0 {
		return false
	}
	return n > 0
}
