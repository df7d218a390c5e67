package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// endpoint is where and as whom the raw clients connect.
type endpoint struct {
	Addr  string // host:port
	User  string
	Pass  string
	Vhost string
	// Loopback is true when Addr is in 127.0.0.0/8, so client sockets may be bound
	// to other loopback source addresses.
	Loopback bool
}

// parseEndpoint reads an amqp:// URL.
func parseEndpoint(url string) (endpoint, error) {
	u, err := amqp091.ParseURI(url)
	if err != nil {
		return endpoint{}, err
	}
	if u.Scheme != "amqp" {
		return endpoint{}, fmt.Errorf("%s: only amqp:// is supported", url)
	}
	ep := endpoint{
		Addr:  net.JoinHostPort(u.Host, strconv.Itoa(u.Port)),
		User:  u.Username,
		Pass:  u.Password,
		Vhost: u.Vhost,
	}
	if ip := net.ParseIP(u.Host); ip != nil && ip.IsLoopback() && ip.To4() != nil {
		ep.Loopback = true
	}
	if u.Host == "localhost" {
		ep.Loopback = true
		ep.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(u.Port))
	}
	return ep, nil
}

// sourceAddr returns the local address for the i-th client connection: nil (the
// kernel's choice, 127.0.0.1) for the first perAddr connections, then 127.0.0.2,
// 127.0.0.3, ... for each further perAddr, so that more connections than one
// source address has ephemeral ports can be opened.
func sourceAddr(i, perAddr int) net.IP {
	if perAddr <= 0 || i < perAddr {
		return nil
	}
	host := 1 + i/perAddr // 127.0.0.1 is group 0
	return net.IPv4(127, byte(host>>16), byte(host>>8), byte(host))
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT: pick the source port at
// connect time, so a bound source address still gets the full port range per
// destination.
const ipBindAddressNoPort = 24

func dialTCP(ctx context.Context, addr string, src net.IP, timeout time.Duration) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: timeout}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// frameReader reads AMQP frames from a buffered reader. A payload aliases the
// reader's buffer (or the frameReader's own) until the next read.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

func newFrameReader(r io.Reader, size int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, size)}
}

// errFrameEnd reports a frame whose last octet is not 0xCE.
var errFrameEnd = errors.New("amqp: frame does not end with 0xCE")

// maxFramePayload bounds what the tool accepts from a broker.
const maxFramePayload = 64 << 20

func (f *frameReader) read() (typ uint8, ch uint16, payload []byte, err error) {
	hdr, err := f.r.Peek(7)
	if err != nil {
		return 0, 0, nil, err
	}
	typ = hdr[0]
	ch = binary.BigEndian.Uint16(hdr[1:])
	size := int(binary.BigEndian.Uint32(hdr[3:]))
	if size > maxFramePayload {
		return 0, 0, nil, fmt.Errorf("amqp: frame of %d octets", size)
	}
	total := 7 + size + 1
	if total <= f.r.Size() {
		whole, err := f.r.Peek(total)
		if err != nil {
			return 0, 0, nil, noEOF(err)
		}
		if whole[total-1] != frameEnd {
			return 0, 0, nil, errFrameEnd
		}
		payload = whole[7 : 7+size]
		_, _ = f.r.Discard(total) // the bytes stay valid until the next read
		return typ, ch, payload, nil
	}
	_, _ = f.r.Discard(7)
	if cap(f.buf) < size+1 {
		f.buf = make([]byte, size+1)
	}
	f.buf = f.buf[:size+1]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return 0, 0, nil, noEOF(err)
	}
	if f.buf[size] != frameEnd {
		return 0, 0, nil, errFrameEnd
	}
	return typ, ch, f.buf[:size], nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readMethod reads frames until a method frame, skipping heartbeats; a
// connection.close or channel.close from the broker comes back as a closeReason
// error.
func (f *frameReader) readMethod() (uint32, *fieldReader, error) {
	for {
		typ, _, payload, err := f.read()
		if err != nil {
			return 0, nil, err
		}
		switch typ {
		case frameHeartbeat:
			continue
		case frameMethod:
		default:
			return 0, nil, fmt.Errorf("amqp: unexpected frame type %d", typ)
		}
		id, r, err := methodOf(payload)
		if err != nil {
			return 0, nil, err
		}
		if id == idConnectionClose || id == idChannelClose {
			return id, r, parseClose(r)
		}
		return id, r, nil
	}
}

// expect reads the next method and fails unless it is want.
func (f *frameReader) expect(want uint32, name string) (*fieldReader, error) {
	id, r, err := f.readMethod()
	if err != nil {
		return nil, fmt.Errorf("waiting for %s: %w", name, err)
	}
	if id != want {
		return nil, fmt.Errorf("waiting for %s: got method %d.%d", name, id>>16, id&0xffff)
	}
	return r, nil
}

// handshake holds the result of opening a raw AMQP connection.
type handshake struct {
	Conn *net.TCPConn
	// Reader is the buffered frame reader the handshake used; nil unless
	// dialOptions.KeepReader was set.
	Reader *frameReader
	Tune   tuneParams // what the client sent in tune-ok
	// LastSent is when the write of connection.open (the client's last octets)
	// returned.
	LastSent time.Time
}

// dialOptions are the knobs of openRaw.
type dialOptions struct {
	Heartbeat  uint16 // seconds, sent verbatim in tune-ok
	Src        net.IP
	Timeout    time.Duration // for the TCP connect and the whole handshake
	KeepReader bool          // keep a 64 KiB frame reader for the caller
	ReadBuf    int           // handshake reader size (default 1 KiB, 64 KiB when KeepReader)
}

// openRaw connects and runs the AMQP handshake up to connection.open-ok.
func openRaw(ctx context.Context, ep endpoint, o dialOptions) (*handshake, error) {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	c, err := dialTCP(ctx, ep.Addr, o.Src, o.Timeout)
	if err != nil {
		return nil, err
	}
	h, err := runHandshake(c, ep, o)
	if err != nil {
		_ = c.SetLinger(0)
		_ = c.Close()
		return nil, err
	}
	return h, nil
}

func runHandshake(c *net.TCPConn, ep endpoint, o dialOptions) (*handshake, error) {
	_ = c.SetDeadline(time.Now().Add(o.Timeout))
	size := o.ReadBuf
	if size == 0 {
		size = 1024
		if o.KeepReader {
			size = 64 << 10
		}
	}
	fr := newFrameReader(c, size)
	if _, err := c.Write(protocolHeader); err != nil {
		return nil, err
	}
	if _, err := fr.expect(idConnectionStart, "connection.start"); err != nil {
		return nil, err
	}
	if _, err := c.Write(appendStartOk(nil, ep.User, ep.Pass)); err != nil {
		return nil, err
	}
	r, err := fr.expect(idConnectionTune, "connection.tune")
	if err != nil {
		return nil, err
	}
	server, err := parseTune(r)
	if err != nil {
		return nil, err
	}
	tune := tuneParams{ChannelMax: server.ChannelMax, FrameMax: server.FrameMax, Heartbeat: o.Heartbeat}
	if tune.FrameMax == 0 || tune.FrameMax > 131072 {
		tune.FrameMax = 131072
	}
	b := appendTuneOk(nil, tune.ChannelMax, tune.FrameMax, tune.Heartbeat)
	b = appendConnectionOpen(b, ep.Vhost)
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	last := time.Now()
	if _, err := fr.expect(idConnectionOpenOk, "connection.open-ok"); err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	h := &handshake{Conn: c, Tune: tune, LastSent: last}
	if o.KeepReader {
		h.Reader = fr
	}
	return h, nil
}

// lockedWriter serialises writes to one connection and counts them, so a
// heartbeat sender can tell whether anything was written lately.
type lockedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	writes uint64 // guarded by mu
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.w.Write(b)
}

// writeCount returns how many writes were made so far.
func (l *lockedWriter) writeCount() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

// heartbeatIfIdle sends a heartbeat frame unless something was written since
// the count last.
func (l *lockedWriter) heartbeatIfIdle(last *uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writes != *last {
		*last = l.writes
		return nil
	}
	l.writes++
	*last = l.writes
	_, err := l.w.Write(heartbeatFrame)
	return err
}

// runHeartbeats writes a heartbeat every interval in which nothing else was
// written, until stop is closed or a write fails.
func runHeartbeats(w *lockedWriter, interval time.Duration, stop <-chan struct{}) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	last := w.writeCount()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := w.heartbeatIfIdle(&last); err != nil {
				return
			}
		}
	}
}
