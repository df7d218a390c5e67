package heartbeat

import (
	"sync/atomic"
	"time"
)

// The late-peer warning: a warning before the timeout, as Linux-HA
// Heartbeat's warntime comes before its deadtime. RabbitMQ has none.
//
// It needs no timer or goroutine of its own: the sender's checks, every
// Interval/2, also look at how long the peer has been silent (Config.
// LastReceived) and call Config.OnLate once the silence reaches Config.Late.
// So a peer silent since L is reported at the first sender check at or after
// L + Late, that is between Late and Late + Interval/2 after its last octet;
// with Late <= 1.5·Interval that is always before the receiver's timeout,
// which never comes earlier than 2·Interval after the last octet.
//
// At most one warning per silence: after OnLate has accepted one (returned
// true), the next comes only once LastReceived has moved (the peer spoke
// again, then fell silent again). No warning while the receiver is paused;
// after Resume the silence counts from Resume, as the receiver's window does.

// lateState is the late check's state. warned is guarded by Monitor.sendMu;
// resumed is written by Start and Resume (under recvMu) and read by the
// check, hence atomic.
type lateState struct {
	warned  time.Time    // LastReceived() when OnLate last accepted a warning
	resumed atomic.Int64 // Unix ns of Start or the last Resume: the silence counts from no earlier
}

// checkLate is the late check, run at the start of every sender check with
// sendMu held (before SendHeartbeat, which may block on a full socket).
func (m *Monitor) checkLate() {
	c := &m.cfg
	if c.Late <= 0 || c.LastReceived == nil || c.OnLate == nil {
		return
	}
	if m.state.Load()&(stateStopped|stateRecvFired|stateRecvPaused) != 0 {
		return
	}
	last := c.LastReceived()
	if !m.late.warned.IsZero() && last.Equal(m.late.warned) {
		return // already warned about this silence
	}
	from := last
	if r := time.Unix(0, m.late.resumed.Load()); r.After(from) {
		from = r
	}
	silence := time.Since(from)
	if silence < c.Late {
		return
	}
	if c.OnLate(silence) {
		m.late.warned = last
	}
}
