package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// hbWatcher is an idle connection that answers heartbeats and timestamps the
// broker's.
type hbWatcher struct {
	c     *rawClient
	mu    sync.Mutex
	times []time.Time
	err   error // why the connection ended, if the broker ended it
	done  chan struct{}
}

func startWatcher(ctx context.Context, ep endpoint, hb uint16) (*hbWatcher, error) {
	h, err := openRaw(ctx, ep, dialOptions{Heartbeat: hb, KeepReader: true})
	if err != nil {
		return nil, fmt.Errorf("idle connection: %w", err)
	}
	c := &rawClient{h: h, fr: h.Reader, w: &lockedWriter{w: h.Conn}, stopHB: make(chan struct{}), hbDone: make(chan struct{})}
	w := &hbWatcher{c: c, times: []time.Time{h.LastSent}, done: make(chan struct{})}
	go func() {
		defer close(c.hbDone)
		runHeartbeats(c.w, time.Duration(hb)*time.Second/2, c.stopHB)
	}()
	go w.read()
	return w, nil
}

func (w *hbWatcher) read() {
	defer close(w.done)
	for {
		typ, _, payload, err := w.c.fr.read()
		if err != nil {
			w.mu.Lock()
			w.err = w.c.readErr(err)
			w.mu.Unlock()
			return
		}
		switch typ {
		case frameHeartbeat:
			w.mu.Lock()
			w.times = append(w.times, time.Now())
			w.mu.Unlock()
		case frameMethod:
			if id, r, err := methodOf(payload); err == nil && id == idConnectionClose {
				w.mu.Lock()
				w.err = parseClose(r)
				w.mu.Unlock()
				return
			}
		}
	}
}

// closedEarly reports whether the broker ended the connection.
func (w *hbWatcher) closedEarly() error {
	select {
	case <-w.done:
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.err == nil {
			return fmt.Errorf("idle connection closed")
		}
		return fmt.Errorf("idle connection: %w", w.err)
	default:
		return nil
	}
}

// gaps returns the intervals between consecutive heartbeat frames (the first
// measured from the handshake's last write), in units of T.
func (w *hbWatcher) gaps(T time.Duration) []float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return gapsInT(w.times, T)
}

func gapsInT(times []time.Time, T time.Duration) []float64 {
	var g []float64
	for i := 1; i < len(times); i++ {
		g = append(g, times[i].Sub(times[i-1]).Seconds()/T.Seconds())
	}
	return g
}

// maxGap returns the largest gap between heartbeat frames in units of T,
// counting the open gap from the last frame (or the handshake) to now, so that
// a broker that stops sending heartbeats altogether shows as a large gap too.
func (w *hbWatcher) maxGap(T time.Duration, now time.Time) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maxGapInT(w.times, T, now)
}

// maxGapInT is the largest of the gaps between times and of the gap from the
// last time to now, in units of T; 0 when times is empty.
func maxGapInT(times []time.Time, T time.Duration, now time.Time) float64 {
	if len(times) == 0 {
		return 0
	}
	m := now.Sub(times[len(times)-1]).Seconds() / T.Seconds()
	for _, g := range gapsInT(times, T) {
		m = max(m, g)
	}
	return m
}

// waitHeartbeat waits, at most timeout, for a heartbeat frame received after
// after, or for the connection to end.
func (w *hbWatcher) waitHeartbeat(after time.Time, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		got := w.times[len(w.times)-1].After(after)
		w.mu.Unlock()
		if got {
			return
		}
		select {
		case <-w.done:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop ends the idle connection and waits for its reading goroutine.
func (w *hbWatcher) stop() {
	w.c.stopReading()
	<-w.done
	w.c.close()
}
