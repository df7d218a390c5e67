package main

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestOpenRaw(t *testing.T) {
	b := startFake(t, 0)
	before := time.Now()
	h, err := openRaw(context.Background(), b.endpoint(), dialOptions{Heartbeat: 7, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Conn.Close()
	if h.Tune.Heartbeat != 7 || h.Tune.FrameMax != 131072 || h.Tune.ChannelMax != 2047 || h.LastSent.Before(before) {
		t.Fatalf("handshake %+v", h)
	}
	if b.tuneOkHB.Load() != 7 || b.vhost.Load() != "/" {
		t.Fatalf("broker saw heartbeat %d, vhost %v", b.tuneOkHB.Load(), b.vhost.Load())
	}
}

func TestOpenRawFailsOnRefusedPort(t *testing.T) {
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := openRaw(context.Background(), endpoint{Addr: addr}, dialOptions{Timeout: time.Second}); err == nil {
		t.Fatal("no error from a closed port")
	}
}

func TestPoolDetectsBrokerCloses(t *testing.T) {
	const n, silence = 20, 200 * time.Millisecond
	b := startFake(t, silence)
	p := newPool(b.endpoint(), n)
	st := p.connect(context.Background(), connectOptions{N: n, Heartbeat: 1, Concurrency: 4, PerAddr: 8, Timeout: 5 * time.Second})
	if st.Opened != n || st.Failed != 0 {
		t.Fatalf("connect: %+v", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	inT, never, kinds := detectSummary(p, 100*time.Millisecond, 10*time.Second)
	p.closeAll()
	if never != 0 || len(inT) != n || kinds[stillOpen] != 0 {
		t.Fatalf("never %d, closed %d, kinds %v", never, len(inT), kinds)
	}
	for _, x := range inT { // closed ~2 units of 100 ms after the last octet (generous upper bound: busy machines)
		if x < 1.9 || x > 50 {
			t.Fatalf("close after %.2f units, want about 2", x)
		}
	}
}

func TestPoolHeartbeatSenderKeepsConnectionsOpen(t *testing.T) {
	const n = 10
	b := startFake(t, 2*time.Second) // far above the 50 ms period, even on a busy machine
	p := newPool(b.endpoint(), n)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); p.heartbeatSender(50*time.Millisecond, stop, 0) }()
	st := p.connect(context.Background(), connectOptions{N: n, Heartbeat: 1, Concurrency: 2, Timeout: 5 * time.Second})
	time.Sleep(2500 * time.Millisecond)
	open := p.open()
	close(stop)
	<-done
	p.closeAll()
	if st.Opened != n || open != n {
		t.Fatalf("opened %d, open after 1s %d", st.Opened, open)
	}
	if hb := b.heartbeats.Load(); hb < n*5 {
		t.Fatalf("broker saw %d heartbeats from %d connections in 2.5s", hb, n)
	}
}

func TestPoolDrainSeesBrokerCloses(t *testing.T) {
	const n = 5
	b := startFake(t, 100*time.Millisecond)
	p := newPool(b.endpoint(), n)
	st := p.connect(context.Background(), connectOptions{N: n, Heartbeat: 1, Timeout: 5 * time.Second, NoWatch: true})
	if st.Opened != n {
		t.Fatalf("connect: %+v", st)
	}
	p.drainAll()
	if p.open() != n {
		t.Fatalf("%d open right after connecting", p.open())
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		p.drainAll()
	}
	_, never, kinds := detectSummary(p, time.Second, time.Minute)
	p.closeAll()
	if never != 0 || kinds[closedEOF]+kinds[closedRST] != n {
		t.Fatalf("never %d, kinds %v", never, kinds)
	}
}
