package heartbeat

import (
	"errors"
	"testing"
)

// RabbitMQ 3.10.8's tune proposal.
const (
	serverFrameMax   = 131072
	serverChannelMax = 2047
	serverHeartbeat  = 60
	frameMinSize     = 4096 // ?FRAME_MIN_SIZE in 3.10.8
	channelMin       = 1    // ?CHANNEL_MIN
)

// Every row of rabbitmq-observed.md §1, plus the accepted neighbours.
func TestNegotiateFrameMax(t *testing.T) {
	cases := []struct {
		server, client uint32
		want           uint32
		err            string
	}{
		{serverFrameMax, 1024, 0, "negotiated frame_max = 1024 is lower than the minimum allowed value (4096)"},
		{serverFrameMax, 4095, 0, "negotiated frame_max = 4095 is lower than the minimum allowed value (4096)"},
		{serverFrameMax, 0, 0, "negotiated frame_max = 0 is higher than the maximum allowed value (131072)"},
		{serverFrameMax, 131073, 0, "negotiated frame_max = 131073 is higher than the maximum allowed value (131072)"},
		{serverFrameMax, 262144, 0, "negotiated frame_max = 262144 is higher than the maximum allowed value (131072)"},
		{serverFrameMax, 4096, 4096, ""},
		{serverFrameMax, 8192, 8192, ""}, // below the proposal: taken verbatim
		{serverFrameMax, 131072, 131072, ""},
		// frame_max 0 configured on the server: no maximum, still a minimum.
		{0, 0, 0, ""},
		{0, 1 << 30, 1 << 30, ""},
		{0, 1024, 0, "negotiated frame_max = 1024 is lower than the minimum allowed value (4096)"},
	}
	for _, c := range cases {
		got, err := Negotiate("frame_max", c.server, c.client, frameMinSize)
		checkNegotiated(t, "frame_max", c.server, c.client, got, c.want, err, c.err)
	}
}

func TestNegotiateChannelMax(t *testing.T) {
	cases := []struct {
		server, client uint16
		want           uint16
		err            string
	}{
		{serverChannelMax, 0, 0, "negotiated channel_max = 0 (no limit) is higher than the maximum allowed value (2047)"},
		{serverChannelMax, 2048, 0, "negotiated channel_max = 2048 is higher than the maximum allowed value (2047)"},
		{serverChannelMax, 4000, 0, "negotiated channel_max = 4000 is higher than the maximum allowed value (2047)"},
		{serverChannelMax, 1, 1, ""},
		{serverChannelMax, 100, 100, ""},
		{serverChannelMax, 2047, 2047, ""},
		// channel_max 0 configured on the server: anything is accepted.
		{0, 0, 0, ""},
		{0, 65535, 65535, ""},
	}
	for _, c := range cases {
		got, err := Negotiate("channel_max", c.server, c.client, channelMin)
		checkNegotiated(t, "channel_max", c.server, c.client, got, c.want, err, c.err)
	}
}

// The heartbeat is never validated: with server 0 and minimum 0 every value
// passes verbatim, above the proposal of 60 and 0 included (§1: 0 -> 0,
// 1 -> 1, 600 -> 600, 65535 -> 65535).
func TestNegotiateHeartbeatVerbatim(t *testing.T) {
	for _, client := range []uint16{0, 1, 5, serverHeartbeat, 600, 4464, 65535} {
		got, err := Negotiate("heartbeat", 0, client, 0)
		checkNegotiated(t, "heartbeat", 0, client, got, client, err, "")
	}
}

func checkNegotiated[T uint16 | uint32](t *testing.T, name string, server, client, got, want T, err error, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil || got != want {
			t.Errorf("%s server %d client %d: got %d, %v; want %d", name, server, client, got, err, want)
		}
		return
	}
	var ne *NegotiationError
	if !errors.As(err, &ne) {
		t.Errorf("%s server %d client %d: got %d, %v; want a *NegotiationError", name, server, client, got, err)
		return
	}
	if err.Error() != wantErr || got != 0 || ne.Field != name || ne.Value != uint64(client) {
		t.Errorf("%s server %d client %d: got %d, %+v %q; want 0, %q", name, server, client, got, ne, err, wantErr)
	}
}
