package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
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
