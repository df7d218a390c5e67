package broker_test

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
	"github.com/beatmq/beatmq/frames"
)

// The proposal is RabbitMQ's: channel_max 2047, frame_max 131072, heartbeat 60.
func TestTuneProposal(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	tune := r.Handshake("tune")
	if tune.ChannelMax != 2047 || tune.FrameMax != 131072 || tune.Heartbeat != 60 {
		t.Fatalf("tune = %+v", tune)
	}
}

func TestConnectionStart(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.SendProtocolHeader()
	s := brokertest.Expect[*amqp.ConnectionStart](r, 3*time.Second)
	if s.VersionMajor != 0 || s.VersionMinor != 9 || s.Mechanisms != "PLAIN AMQPLAIN" || s.Locales != "en_US" {
		t.Fatalf("start = %+v", s)
	}
	for _, key := range []string{"product", "version", "platform", "cluster_name", "copyright", "information"} {
		if v, ok := s.ServerProperties.Get(key); !ok || v == "" {
			t.Errorf("server property %s missing", key)
		}
	}
	if v, _ := s.ServerProperties.Get("product"); v != "beatmq" {
		t.Errorf("product = %v", v)
	}
	caps, _ := s.ServerProperties.Get("capabilities")
	tab, _ := caps.(amqp.Table)
	for _, c := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
		"connection.blocked", "consumer_priorities", "authentication_failure_close", "per_consumer_qos", "direct_reply_to"} {
		if v, ok := tab.Get(c); v != true || !ok {
			t.Errorf("capability %s = %v", c, v)
		}
	}
}

// Config.Product replaces the advertised product name, nothing else.
func TestConnectionStartProduct(t *testing.T) {
	cfg := broker.DefaultConfig()
	cfg.Product = "RabbitMQ"
	b := start(t, unit, brokertest.WithConfig(cfg))
	r := brokertest.DialRaw(t, b.Addr())
	r.SendProtocolHeader()
	s := brokertest.Expect[*amqp.ConnectionStart](r, 3*time.Second)
	if v, _ := s.ServerProperties.Get("product"); v != "RabbitMQ" {
		t.Errorf("product = %v", v)
	}
	if v, _ := s.ServerProperties.Get("platform"); v != "Go" {
		t.Errorf("platform = %v", v)
	}
}

// The broker adopts the client's heartbeat verbatim (rabbitmq-observed.md §1).
func TestHeartbeatTakenVerbatim(t *testing.T) {
	b := start(t, unit)
	for _, hb := range []uint16{0, 1, 5, 600, 65535} {
		t.Run(fmt.Sprint(hb), func(t *testing.T) {
			r := brokertest.DialRaw(t, b.Addr())
			name := fmt.Sprintf("verbatim-%d", hb)
			r.Connect(name, hb)
			info, ok := b.Conn(name)
			if !ok || info.Heartbeat != hb || info.State != broker.StateRunning || info.FrameMax != 131072 || info.ChannelMax != 2047 {
				t.Fatalf("info = %+v", info)
			}
		})
	}
}

// Invalid tune-ok: no connection.close, 3 s of silence, then the socket is
// closed; two error lines in the log (rabbitmq-observed.md §1).
func TestNegotiationFailures(t *testing.T) {
	b := start(t, unit)
	tuneOk := func(channelMax uint16, frameMax uint32) []byte {
		return brokertest.MethodPayload(&amqp.ConnectionTuneOk{ChannelMax: channelMax, FrameMax: frameMax, Heartbeat: 0})
	}
	cases := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"frame_max 1024", tuneOk(2047, 1024), "negotiated frame_max = 1024 is lower than the minimum allowed value (4096)"},
		{"frame_max 4095", tuneOk(2047, 4095), "negotiated frame_max = 4095 is lower than the minimum allowed value (4096)"},
		{"frame_max 0", tuneOk(2047, 0), "negotiated frame_max = 0 is higher than the maximum allowed value (131072)"},
		{"frame_max 131073", tuneOk(2047, 131073), "negotiated frame_max = 131073 is higher than the maximum allowed value (131072)"},
		{"channel_max 0", tuneOk(0, 131072), "negotiated channel_max = 0 (no limit) is higher than the maximum allowed value (2047)"},
		{"channel_max 2048", tuneOk(2048, 131072), "negotiated channel_max = 2048 is higher than the maximum allowed value (2047)"},
		{"heartbeat as a long", []byte{0, 10, 0, 31, 7, 255, 0, 2, 0, 0, 0, 1, 17, 112},
			"cannot decode <<7,255,0,2,0,0,0,1,17,112>>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := brokertest.DialRaw(t, b.Addr())
			r.Handshake("neg")
			sent := time.Now()
			r.SendFrame(frames.TypeMethod, 0, tc.payload)
			kind, at, got := r.WaitClosed(2 * time.Second)
			if kind == brokertest.NotClosed {
				t.Fatal("socket still open")
			}
			if len(got) != 0 {
				t.Fatalf("broker sent %d frames, want none (first type %d)", len(got), got[0].Type)
			}
			within(t, "closed", at.Sub(sent), 25*unit/10, 40*unit/10)
			id := connID(t, b, r)
			wantLog(t, b, fmt.Sprintf("[error] %s closing AMQP connection %s (%s - neg):", id, id, connName(b, r)))
			wantLog(t, b, fmt.Sprintf("[error] %s failed to negotiate connection parameters: %s", id, tc.want))
			if info := ended(t, b, id); info.Reason != broker.ReasonNegotiationFailed {
				t.Fatalf("reason %v", info.Reason)
			}
		})
	}
}

// A heartbeat of 65535 (the largest short) and a 32-bit 70000 truncated to
// 16 bits (4464) are accepted.
func TestLargeHeartbeatsAccepted(t *testing.T) {
	b := start(t, unit)
	for _, hb := range []uint16{65535, uint16(70000 & 0xffff)} {
		r := brokertest.DialRaw(t, b.Addr())
		tune := r.Handshake("")
		r.Open(tune.ChannelMax, tune.FrameMax, hb)
	}
}

// Frame_max and channel_max below the proposal are taken as sent; the
// frames.Reader enforces the new frame_max.
func TestLowerLimitsAccepted(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Handshake("low")
	r.Open(1, 4096, 0)
	info, _ := b.Conn("low")
	if info.ChannelMax != 1 || info.FrameMax != 4096 {
		t.Fatalf("info = %+v", info)
	}
}

// The sender starts at tune-ok, before connection.open, and sends every T/2.
func TestServerHeartbeatCadence(t *testing.T) {
	const u = 200 * time.Millisecond
	b := start(t, u)
	r := brokertest.DialRaw(t, b.Addr())
	r.Handshake("cadence")
	sent := time.Now()
	r.SendMethod(0, &amqp.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 1})
	end := sent.Add(23 * u / 10) // the silent client is dropped at 3 T
	for time.Now().Before(end) {
		f, err := r.ReadFrame(time.Until(end))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Type != frames.TypeHeartbeat {
			t.Fatalf("frame type %d before any request", f.Type)
		}
	}
	if len(r.Heartbeats) < 4 {
		t.Fatalf("%d heartbeats in 2.3 T, want 4", len(r.Heartbeats))
	}
	within(t, "first heartbeat", r.Heartbeats[0].Sub(sent), 4*u/10, 7*u/10)
	for i := 1; i < len(r.Heartbeats); i++ {
		within(t, "heartbeat gap", r.Heartbeats[i].Sub(r.Heartbeats[i-1]), 3*u/10, 7*u/10)
	}
}

// Heartbeat 0: no heartbeats either way, and silence is no reason to close.
func TestHeartbeatZero(t *testing.T) {
	b := start(t, unit)
	r := brokertest.DialRaw(t, b.Addr())
	r.Connect("zero", 0)
	if kind, _, got := r.WaitClosed(10 * unit); kind != brokertest.NotClosed || len(got) != 0 {
		t.Fatalf("closed %v, %d frames", kind, len(got))
	}
}
