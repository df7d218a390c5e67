package heartbeat

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// PeerAcks reports what the kernel knows of the peer's acknowledgements of
// the octets sent on the connection (getsockopt TCP_INFO): tcpi_bytes_acked,
// and whether tcpi_unacked > 0 or tcpi_probes >= 2. ok is false for a
// connection that is not a TCP socket, on any error, and when the kernel
// reports no acknowledged octet at all (kernels before 4.2 have no
// tcpi_bytes_acked; a connection past its handshake has had some octets
// acknowledged). See Config.PeerAcks.
//
// A window probe counts only from the second unanswered one: the first is
// outstanding for a round trip after every probe, also to a live peer that
// keeps its window closed; a second is sent only after a retransmission
// timeout without an answer.
func (c *CountingConn) PeerAcks() (acks Acks, ok bool) {
	sc, isSys := c.Conn.(syscall.Conn)
	if !isSys {
		return Acks{}, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Acks{}, false
	}
	var info *unix.TCPInfo
	var ierr error
	if err := raw.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || ierr != nil || info.Bytes_acked == 0 {
		return Acks{}, false
	}
	return Acks{Acked: info.Bytes_acked, Waiting: info.Unacked > 0 || info.Probes >= 2}, true
}
