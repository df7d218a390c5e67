package broker_test

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// Wrong protocol headers get AMQP 0-9-1's header back and the socket closed
// (rabbitmq-observed.md §4).
func TestBadProtocolHeaders(t *testing.T) {
	b := start(t, unit)
	cases := []struct {
		header []byte
		log    string
	}{
		{[]byte("AMQP\x01\x01\x00\x0a"), "{bad_version,{1,1,0,10}}"},
		{[]byte("AMQP\x00\x00\x09\x02"), "{bad_version,{0,0,9,2}}"},
		{[]byte("HTTP/1.1"), `{bad_header,<<"HTTP/1.1">>}`},
		{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), `{bad_header,<<"GET / HT">>}`},
		{[]byte{22, 3, 1, 0, 165, 1, 0, 0, 161, 3, 3}, "{bad_header,<<22,3,1,0,165,1,0,0>>}"},
		{[]byte("AMQP\x00\x01\x00\x00"), "amqp1_0_plugin_not_enabled"},
		{[]byte("AMQP\x03\x01\x00\x00"), "amqp1_0_plugin_not_enabled"},
		{brokertest.FrameBytes(frames.TypeHeartbeat, 0, nil), "{bad_header,<<8,0,0,0,0,0,0,206>>}"},
	}
	for _, tc := range cases {
		t.Run(tc.log, func(t *testing.T) {
			r := brokertest.DialRaw(t, b.Addr())
			r.Write(tc.header)
			got, err := r.ReadRaw(8, time.Second)
			if err != nil || string(got) != "AMQP\x00\x00\x09\x01" {
				t.Fatalf("reply %q, %v", got, err)
			}
			if kind, _, _ := r.WaitClosed(time.Second); kind == brokertest.NotClosed {
				t.Fatal("socket still open")
			}
			id := connID(t, b, r)
			wantLog(t, b, fmt.Sprintf("[info] %s accepting AMQP connection %s (%s)", id, id, connName(b, r)))
			wantLog(t, b, fmt.Sprintf("[error] %s closing AMQP connection %s (%s):", id, id, connName(b, r)))
			wantLog(t, b, fmt.Sprintf("[error] %s %s", id, tc.log))
			if info := ended(t, b, id); info.Reason != broker.ReasonBadHeader {
				t.Fatalf("reason %v", info.Reason)
			}
		})
	}
}

// 0-9 and 0-8 headers are accepted, as RabbitMQ does.
func TestOlderProtocolHeaders(t *testing.T) {
	b := start(t, unit)
	for _, tc := range []struct {
		header       string
		major, minor uint8
	}{{"AMQP\x01\x01\x00\x09", 0, 9}, {"AMQP\x01\x01\x08\x00", 8, 0}} {
		r := brokertest.DialRaw(t, b.Addr())
		r.Write([]byte(tc.header))
		s := brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
		if s.VersionMajor != tc.major || s.VersionMinor != tc.minor {
			t.Fatalf("%q: start version %d-%d", tc.header, s.VersionMajor, s.VersionMinor)
		}
	}
}

// Heartbeat frames are accepted silently during the handshake.
func TestHeartbeatsDuringHandshake(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.SendProtocolHeader()
	r.SendHeartbeat()
	brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
	r.SendMethod(0, &amqp.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	r.SendHeartbeat()
	brokertest.Expect[*amqp.ConnectionTune](r, time.Second)
	r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072})
	r.SendHeartbeat()
	r.SendMethod(0, &amqp.ConnectionOpen{VirtualHost: "/"})
	brokertest.Expect[*amqp.ConnectionOpenOk](r, time.Second)
	r.SendHeartbeat()
	openChannel(t, r, 1)
}

// A wrong password: with authentication_failure_close the client gets 403
// and the details go to the log (rabbit_reader:auth_fail/5).
func TestAuthFailure(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.SendProtocolHeader()
	brokertest.Expect[*amqp.ConnectionStart](r, time.Second)
	r.SendMethod(0, &amqp.ConnectionStartOk{
		ClientProperties: amqp.Table{{Name: "capabilities", Value: amqp.Table{{Name: "authentication_failure_close", Value: true}}}},
		Mechanism:        "PLAIN", Response: "\x00guest\x00wrong", Locale: "en_US"})
	expectClose(t, r, amqp.AccessRefused,
		"ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.", 0, 0)
	r.SendMethod(0, &amqp.ConnectionCloseOk{})
	if kind, _, _ := r.WaitClosed(time.Second); kind == brokertest.NotClosed {
		t.Fatal("still connected after close-ok")
	}
	id := connID(t, b, r)
	wantLog(t, b, fmt.Sprintf("[error] %s Error on AMQP connection %s (%s, state: starting):", id, id, connName(b, r)))
	wantLog(t, b, fmt.Sprintf("[error] %s PLAIN login refused: user 'guest' - invalid credentials", id))
	wantLog(t, b, fmt.Sprintf("[info] %s closing AMQP connection %s (%s)", id, id, connName(b, r)))
	if info := ended(t, b, id); info.Reason != broker.ReasonAuthFailed {
		t.Fatalf("reason %v", info.Reason)
	}
}

// amqp091-go sees the refusal as its ErrCredentials-style 403.
func TestAuthFailureAmqp091(t *testing.T) {
	b := start(t, unit)
	_, err := amqp091.Dial("amqp://guest:nope@" + b.Addr() + "/")
	var e *amqp091.Error
	if !errors.As(err, &e) || e.Code != 403 {
		t.Fatalf("dial: %v", err)
	}
}

func TestAMQPLAIN(t *testing.T) {
	b := start(t, unit, brokertest.WithUsers(broker.User{Name: "u", Password: "p"}))
	c, err := amqp091.DialConfig("amqp://"+b.Addr()+"/", amqp091.Config{SASL: []amqp091.Authentication{&amqp091.AMQPlainAuth{Username: "u", Password: "p"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if info, ok := b.WaitConn(time.Second, func(c broker.ConnInfo) bool { return c.User == "u" }); !ok || info.AuthMechanism != "AMQPLAIN" {
		t.Fatalf("info %+v", info)
	}
}

// The loopback-only user guest cannot log in from another address.
func TestLoopbackUser(t *testing.T) {
	ip := nonLoopbackIP()
	if ip == nil {
		t.Skip("no non-loopback address on this machine")
	}
	srv, err := broker.New(broker.Config{HeartbeatUnit: unit})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	go func() { _ = srv.Serve(l) }()
	defer func() { _ = srv.Close() }()
	_, err = amqp091.Dial("amqp://guest:guest@" + l.Addr().String() + "/")
	var e *amqp091.Error
	if !errors.As(err, &e) || e.Code != 403 {
		t.Fatalf("guest from %s: %v", ip, err)
	}
	info, ok := waitClosedConn(srv)
	if !ok || info.Reason != broker.ReasonAuthFailed {
		t.Fatalf("info %+v", info)
	}
}

func waitClosedConn(srv *broker.Server) (broker.ConnInfo, bool) {
	for range 300 {
		if c := srv.ClosedConnections(); len(c) > 0 {
			return c[0], true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return broker.ConnInfo{}, false
}

func nonLoopbackIP() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return nil
}

// An unknown vhost: 530 NOT_ALLOWED against connection.open.
func TestUnknownVhost(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	tune := r.Handshake("vh")
	r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: tune.FrameMax})
	r.SendMethod(0, &amqp.ConnectionOpen{VirtualHost: "nope"})
	expectClose(t, r, amqp.NotAllowed, "NOT_ALLOWED - vhost nope not found", 10, 40)
	r.SendMethod(0, &amqp.ConnectionCloseOk{})
	if kind, _, _ := r.WaitClosed(time.Second); kind == brokertest.NotClosed {
		t.Fatal("still connected after close-ok")
	}
	id := connID(t, b, r)
	wantLog(t, b, fmt.Sprintf("[error] %s Error on AMQP connection %s (%s - vh, user: 'guest', state: opening):", id, id, connName(b, r)))
	wantLog(t, b, fmt.Sprintf("[error] %s vhost nope not found", id))

	_, err := amqp091.Dial(b.URL() + "other")
	var e *amqp091.Error
	if !errors.As(err, &e) || e.Code != 530 {
		t.Fatalf("amqp091 dial: %v", err)
	}
}

// After tune-ok errors are sent as a close (row 6): a second tune-ok.
func TestUnexpectedMethodWhileOpening(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	tune := r.Handshake("twice")
	ok := &amqp.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: tune.FrameMax}
	r.SendMethod(0, ok)
	r.SendMethod(0, ok)
	expectClose(t, r, amqp.ChannelError, "CHANNEL_ERROR - unexpected method in connection state opening", 10, 31)
	id := connID(t, b, r)
	wantLog(t, b, fmt.Sprintf(`[error] %s  {handshake_error,opening,{amqp_error,channel_error,"unexpected method in connection state opening",'connection.tune_ok'}}`, id))
}

// A frame on a channel other than 0 before open: 505 in the opening state
// (row 8b); while tuning (row 8c), see TestSynctestSilentClose.
func TestChannelFrameBeforeOpen(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	tune := r.Handshake("")
	r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: tune.FrameMax})
	r.SendFrame(frames.TypeHeartbeat, 1, nil)
	expectClose(t, r, amqp.UnexpectedFrame, "UNEXPECTED_FRAME - type 8, all octets = <<>>", 0, 0)
}
