//go:build !linux

package heartbeat

// Unread reports whether the kernel holds unread octets; without a way to ask
// on this platform it is always false, which keeps RabbitMQ's exact timing.
func (c *CountingConn) Unread() bool { return false }
