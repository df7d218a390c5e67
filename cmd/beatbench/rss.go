package main

import (
	"math"
	"sync"
	"time"
)

// rssSampler reads a broker's VmRSS every interval in the background and keeps
// the peak of the current phase, the peak of the whole run and the latest
// reading. A nil sampler (no pid known) reports NaN, which results leave out.
type rssSampler struct {
	pid      int
	mu       sync.Mutex
	last     uint64 // bytes; 0 before the first reading
	peak     uint64 // since start
	phase    uint64 // since the last newPhase
	samples  int
	failures int
	stop     chan struct{}
	done     chan struct{}
}

// startRSSSampler starts sampling pid every interval; nil when pid is 0. The
// first reading is taken before it returns.
func startRSSSampler(pid int, interval time.Duration) *rssSampler {
	if pid == 0 {
		return nil
	}
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

// sample takes one reading now (also called by the background loop).
func (s *rssSampler) sample() {
	if s == nil {
		return
	}
	p, err := readProc(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failures++
		return
	}
	s.samples++
	s.last = p.RSSBytes
	s.peak = max(s.peak, p.RSSBytes)
	s.phase = max(s.phase, p.RSSBytes)
}

// newPhase takes a reading and starts a new phase peak from it; it returns the
// peak of the phase that ended, in MiB.
func (s *rssSampler) newPhase() float64 {
	if s == nil {
		return math.NaN()
	}
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phase
	s.phase = s.last
	return mib(p)
}

// phasePeak returns the peak of the current phase in MiB.
func (s *rssSampler) phasePeak() float64 {
	if s == nil {
		return math.NaN()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return mib(s.phase)
}

// current takes a reading and returns it in MiB.
func (s *rssSampler) current() float64 {
	if s == nil {
		return math.NaN()
	}
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return mib(s.last)
}

// runPeak returns the peak since start in MiB.
func (s *rssSampler) runPeak() float64 {
	if s == nil {
		return math.NaN()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return mib(s.peak)
}

// close stops the background loop.
func (s *rssSampler) close() {
	if s == nil {
		return
	}
	close(s.stop)
	<-s.done
}

// mib converts bytes to MiB; NaN for 0 (no reading).
func mib(b uint64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(b) / (1 << 20)
}
