//go:build !linux

package heartbeat

// PeerAcks reports what the kernel knows of the peer's acknowledgements; on
// this platform it cannot tell (ok false), which keeps RabbitMQ's behaviour:
// no detection while the receiver is paused but through a failed heartbeat
// write.
func (c *CountingConn) PeerAcks() (acks Acks, ok bool) { return Acks{}, false }
