package brokertest

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames"
)

// RawConn is a scripted AMQP client that writes exactly what it is told and
// reads frames one by one: for protocol edge cases (bad headers, bad frames,
// odd tune-ok values) that real client libraries never produce. Methods that
// fail end the test.
type RawConn struct {
	t    testing.TB
	Conn net.Conn
	rd   *frames.Reader
	// Heartbeats records when each heartbeat frame from the broker was read.
	Heartbeats []time.Time
}

// DialRaw connects to addr; the connection is closed when the test ends.
func DialRaw(t testing.TB, addr string) *RawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("brokertest: dial %s: %v", addr, err)
	}
	return NewRawConn(t, c)
}

// NewRawConn scripts the client end c of a connection made elsewhere, such
// as one end of a net.Pipe whose other end is given to
// broker.Server.ServeConn (under testing/synctest, every timer of the
// connection then runs on the bubble's clock). c is closed when the test
// ends. A net.Pipe has no buffer: the broker's writes wait until the script
// reads them.
func NewRawConn(t testing.TB, c net.Conn) *RawConn {
	t.Cleanup(func() { _ = c.Close() })
	rd := frames.NewReader(c)
	rd.SetFrameMax(0)
	return &RawConn{t: t, Conn: c, rd: rd}
}

// Write sends b as is.
func (r *RawConn) Write(b []byte) {
	r.t.Helper()
	if _, err := r.Conn.Write(b); err != nil {
		r.t.Fatalf("brokertest: write: %v", err)
	}
}

// SendProtocolHeader sends "AMQP\x00\x00\x09\x01".
func (r *RawConn) SendProtocolHeader() { r.t.Helper(); r.Write(frames.ProtocolHeader[:]) }

// FrameBytes encodes one frame.
func FrameBytes(typ uint8, ch uint16, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+8)
	n := uint32(len(payload))
	b = append(b, typ, byte(ch>>8), byte(ch), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	b = append(b, payload...)
	return append(b, frames.FrameEnd)
}

// MethodPayload encodes a method frame's payload.
func MethodPayload(m amqp.Method) []byte { return amqp.AppendMethod(nil, m) }

// SendFrame sends one frame.
func (r *RawConn) SendFrame(typ uint8, ch uint16, payload []byte) {
	r.t.Helper()
	r.Write(FrameBytes(typ, ch, payload))
}

// SendMethod sends m on channel ch.
func (r *RawConn) SendMethod(ch uint16, m amqp.Method) {
	r.t.Helper()
	r.SendFrame(frames.TypeMethod, ch, MethodPayload(m))
}

// SendHeartbeat sends a heartbeat frame on channel 0.
func (r *RawConn) SendHeartbeat() { r.t.Helper(); r.SendFrame(frames.TypeHeartbeat, 0, nil) }

// ReadFrame reads the next frame, heartbeats included; the payload is a copy.
func (r *RawConn) ReadFrame(timeout time.Duration) (frames.Frame, error) {
	_ = r.Conn.SetReadDeadline(time.Now().Add(timeout))
	f, err := r.rd.ReadFrame()
	if err != nil {
		return frames.Frame{}, err
	}
	f.Payload = append([]byte(nil), f.Payload...)
	if f.Type == frames.TypeHeartbeat {
		r.Heartbeats = append(r.Heartbeats, time.Now())
	}
	return f, nil
}

// ReadMethod reads frames until a method frame arrives (heartbeats are
// recorded and skipped; content frames are an error) and returns its channel
// and method.
func (r *RawConn) ReadMethod(timeout time.Duration) (uint16, amqp.Method, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := r.ReadFrame(time.Until(deadline))
		if err != nil {
			return 0, nil, err
		}
		switch f.Type {
		case frames.TypeHeartbeat:
			continue
		case frames.TypeMethod:
			m, err := amqp.ReadMethod(f.Payload)
			return f.Channel, m, err
		}
		return f.Channel, nil, errors.New("brokertest: content frame where a method was expected")
	}
}

// Expect reads the next method (skipping heartbeats) and fails the test
// unless it is of type T.
func Expect[T amqp.Method](r *RawConn, timeout time.Duration) T {
	r.t.Helper()
	_, m, err := r.ReadMethod(timeout)
	if err != nil {
		r.t.Fatalf("brokertest: waiting for %T: %v", *new(T), err)
	}
	v, ok := m.(T)
	if !ok {
		r.t.Fatalf("brokertest: got %s %+v, want %T", m.Name(), m, *new(T))
	}
	return v
}

// Handshake performs the protocol header, start/start-ok as guest (with
// connection_name name if not empty and the connection.blocked and
// authentication_failure_close capabilities) and returns the broker's tune;
// it does not send tune-ok.
func (r *RawConn) Handshake(name string) *amqp.ConnectionTune {
	r.t.Helper()
	r.SendProtocolHeader()
	Expect[*amqp.ConnectionStart](r, 5*time.Second)
	props := amqp.Table{{Name: "product", Value: "brokertest"},
		{Name: "capabilities", Value: amqp.Table{
			{Name: "connection.blocked", Value: true},
			{Name: "authentication_failure_close", Value: true},
		}}}
	if name != "" {
		props = append(props, amqp.Field{Name: "connection_name", Value: name})
	}
	r.SendMethod(0, &amqp.ConnectionStartOk{ClientProperties: props, Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	return Expect[*amqp.ConnectionTune](r, 5*time.Second)
}

// Open sends tune-ok with the given values and connection.open for vhost "/",
// and waits for open-ok.
func (r *RawConn) Open(channelMax uint16, frameMax uint32, heartbeat uint16) {
	r.t.Helper()
	r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: channelMax, FrameMax: frameMax, Heartbeat: heartbeat})
	r.SendMethod(0, &amqp.ConnectionOpen{VirtualHost: "/"})
	Expect[*amqp.ConnectionOpenOk](r, 5*time.Second)
}

// Connect is Handshake and Open with the broker's proposals except the
// heartbeat, which is heartbeat.
func (r *RawConn) Connect(name string, heartbeat uint16) {
	r.t.Helper()
	tune := r.Handshake(name)
	r.Open(tune.ChannelMax, tune.FrameMax, heartbeat)
}

// CloseKind is how the broker ended a connection, as seen by the client.
type CloseKind int

// The ways a socket can end.
const (
	NotClosed CloseKind = iota // still open at the deadline
	ClosedFIN                  // orderly close: EOF
	ClosedRST                  // reset: ECONNRESET
)

// String names the kind.
func (k CloseKind) String() string {
	return [...]string{"not closed", "FIN", "RST"}[k]
}

// WaitClosed reads and discards until the broker closes the socket or timeout
// passes. It returns how the socket ended, when, and every frame read on the
// way (heartbeats included).
func (r *RawConn) WaitClosed(timeout time.Duration) (CloseKind, time.Time, []frames.Frame) {
	deadline := time.Now().Add(timeout)
	var got []frames.Frame
	for {
		f, err := r.ReadFrame(time.Until(deadline))
		if err == nil {
			got = append(got, f)
			continue
		}
		at := time.Now()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return NotClosed, at, got
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return ClosedFIN, at, got
		case errors.Is(err, syscall.ECONNRESET):
			return ClosedRST, at, got
		}
		var fe *frames.Error
		if errors.As(err, &fe) {
			got = append(got, f)
			continue
		}
		r.t.Fatalf("brokertest: waiting for close: %v", err)
	}
}

// ReadRaw reads whatever arrives within timeout (up to n octets) as raw bytes.
func (r *RawConn) ReadRaw(n int, timeout time.Duration) ([]byte, error) {
	_ = r.Conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, n)
	m, err := io.ReadAtLeast(r.Conn, buf, n)
	return buf[:m], err
}
