//go:build linux

package broker

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// sockopt reads an integer socket option of c.
func sockopt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil || gerr != nil {
		t.Fatalf("getsockopt: %v %v", err, gerr)
	}
	return v
}

// accepted returns a connection accepted from l (a client dialled to it is
// closed when the test ends).
func accepted(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Listen leaves keepalive off, unlike net.Listen (Go turns it on with 15 s
// periods); Serve's options then give RabbitMQ's defaults (keepalive off,
// nodelay on) or what Config asks, keepalive with the system's idle time.
func TestTCPOptions(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if c := accepted(t, l); sockopt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0 {
		t.Error("Listen: keepalive on before any option was applied")
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer gl.Close()
	if c := accepted(t, gl); sockopt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE) == 0 {
		t.Error("net.Listen: keepalive off; this test assumes Go's default (on)")
	}
	sysIdle := -1
	for _, tc := range []struct {
		name               string
		cfg                Config
		keepalive, nodelay bool
		listener           net.Listener
		wantSystemKeepIdle bool
	}{
		{name: "defaults", cfg: Config{}, nodelay: true, listener: l},
		{name: "defaults on a Go listener", cfg: Config{}, nodelay: true, listener: gl},
		{name: "keepalive", cfg: Config{TCPKeepAlive: true}, keepalive: true, nodelay: true, listener: l, wantSystemKeepIdle: true},
		{name: "no nodelay", cfg: Config{DisableTCPNoDelay: true}, listener: l},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := accepted(t, tc.listener)
			if sysIdle < 0 && tc.listener == l {
				sysIdle = sockopt(t, c, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE) // untouched: the system's
			}
			(&Server{cfg: tc.cfg}).applyTCPOptions(c)
			if got := sockopt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0; got != tc.keepalive {
				t.Errorf("SO_KEEPALIVE %v, want %v", got, tc.keepalive)
			}
			if got := sockopt(t, c, unix.IPPROTO_TCP, unix.TCP_NODELAY) != 0; got != tc.nodelay {
				t.Errorf("TCP_NODELAY %v, want %v", got, tc.nodelay)
			}
			if tc.wantSystemKeepIdle {
				if got := sockopt(t, c, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE); got != sysIdle {
					t.Errorf("TCP_KEEPIDLE %d s, want the system's %d s", got, sysIdle)
				}
			}
		})
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	(&Server{}).applyTCPOptions(p1) // not TCP: left alone, no panic
}
