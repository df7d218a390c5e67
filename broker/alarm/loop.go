package alarm

// loop is the one goroutine of a monitor: started at most once, stopped
// once, never restarted. Its fields are guarded by the monitor's mutex.
type loop struct {
	started, stopped bool
	stop             chan struct{} // closed by end: the goroutine returns
	done             chan struct{} // closed by the goroutine as it returns
}

// begin marks the loop started and makes its channels, unless it runs or
// was stopped; it reports whether the caller should start the goroutine.
// Call with the monitor's mutex held.
func (l *loop) begin() bool {
	if l.started || l.stopped {
		return false
	}
	l.started = true
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	return true
}

// end marks the loop stopped and returns what waits for the goroutine to
// return: call end with the monitor's mutex held, and the wait without it.
func (l *loop) end() (wait func()) {
	l.stopped = true
	if !l.started {
		return func() {}
	}
	l.started = false
	stop, done := l.stop, l.done
	return func() {
		close(stop)
		<-done
	}
}
