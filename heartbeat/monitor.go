package heartbeat

import (
	"sync"
	"sync/atomic"
	"time"
)

// Counters reports how many octets a connection has received and sent so far.
// *CountingConn implements it. Both counts must only grow.
type Counters interface {
	Received() uint64
	Sent() uint64
}

// Config describes the heartbeat machinery of one connection.
type Config struct {
	// Interval is the negotiated heartbeat T (the tune-ok value in seconds).
	// The sender checks every Interval/2, the receiver every Interval. Zero or
	// less disables both, as rabbit_heartbeat:start_heartbeater(0, ...) does.
	Interval time.Duration

	// Counters supplies the received and sent octet counts, usually the
	// connection's *CountingConn. Required when Interval > 0.
	Counters Counters

	// SendHeartbeat writes one heartbeat frame (08 00 00 00 00 00 00 CE)
	// through the connection's frame writer, whose octets Counters.Sent
	// counts. It may block while the socket is full (the receiver goes on
	// meanwhile); it must not call Stop. Required when Interval > 0.
	SendHeartbeat func() error

	// OnTimeout is called at most once, when two consecutive receiver checks
	// saw no received octet; the receiver has stopped by then. RabbitMQ logs
	// &TimeoutError{Interval} at error level and resets the socket without
	// sending connection.close (rabbit_reader:handle_other/2,
	// heartbeat_timeout). It may call Stop, Pause and Resume. Nil means ignore.
	OnTimeout func()

	// OnSendError is called at most once, with the error of a failed
	// SendHeartbeat; the sender has stopped by then and the receiver goes on.
	// RabbitMQ's reader stops the connection on {heartbeat_send_error, Reason}
	// (rabbit_reader:mainloop/4). It may call Stop. Nil means ignore.
	OnSendError func(error)

	// Coalesce, when positive, puts the checks of every Monitor with the same
	// Coalesce on a common grid of that step, so that the checks of many
	// connections come due together and the process wakes once for all of
	// them instead of once for each. Zero keeps RabbitMQ's timing exactly:
	// each check Interval/2 (sender) or Interval (receiver) after the end of
	// the previous one.
	//
	// With Coalesce q, the first check of each loop (and the first receiver
	// check after Resume) comes at the grid point at or after its exact time,
	// up to q late, never early (RabbitMQ's own checks drift late by about a
	// millisecond each); later checks come exactly one period after the
	// previous one was due; after a check that ran more than q late (a
	// SendHeartbeat blocked on a full socket, an overloaded machine), at the
	// grid point at or after one period after its end, as RabbitMQ's timer
	// restarts after the check. So a silent peer is still reported between 2T
	// and 3T after its last octet, and 3T (plus less than q) after tune-ok or
	// Resume, unless checks run late, which delays RabbitMQ's too. q should divide Interval/2 (4 ms
	// divides every whole second) and is ignored when larger than Interval/8.
	//
	// Why: at N = 1,000 idle connections and T = 1 s, 3,000 checks a second
	// each woke a thread (and the runtime's sysmon after it); perf showed
	// context switches as the largest CPU cost, more than the heartbeat
	// writes themselves.
	Coalesce time.Duration

	// Unread, if set, reports whether octets from the peer have arrived but
	// not been read yet (CountingConn.Unread asks the kernel). The receiver
	// asks it only when it is about to report a timeout, and counts a yes as
	// activity. A peer that is talking is then never closed because the
	// broker's own reader fell behind (a long GC pause, a starved scheduler);
	// RabbitMQ counts only what its driver has read and would close it. A
	// silent peer has nothing unread, so its timing is RabbitMQ's exactly.
	Unread func() bool

	// Late, LastReceived and OnLate give a warning before the timeout, the
	// way Linux-HA Heartbeat's warntime comes before its deadtime; see late.go.
	// Late <= 0 (or a nil LastReceived or OnLate) disables it.
	Late         time.Duration
	LastReceived func() time.Time
	OnLate       func(silence time.Duration) bool

	// PeerAcks, if set, reports what the kernel knows of the peer's TCP
	// acknowledgements (CountingConn.PeerAcks asks TCP_INFO), ok false when
	// it cannot tell. It keeps the receiver checking while paused, when no
	// octet is read and RabbitMQ's receiver is idle: the same rule, two
	// consecutive checks T apart, is applied to the peer's acknowledgements
	// of what the connection sent (the sender's heartbeats, every T/2 when
	// nothing else goes out) instead of to the octets it sent. A peer whose
	// host is up acknowledges within a round trip even while nobody reads its
	// socket; one whose host vanished acknowledges nothing, and is reported
	// to OnUnreachable between 2T and 3T after its last acknowledgement
	// (3T after Pause if it vanished before). Nil keeps RabbitMQ's behaviour:
	// no detection while paused but through a failed SendHeartbeat.
	PeerAcks func() (acks Acks, ok bool)

	// OnUnreachable is called at most once, when the paused receiver saw two
	// consecutive checks with sent octets waiting for an acknowledgement and
	// none acknowledged (see PeerAcks); the receiver has stopped by then. It
	// may call Stop. Nil means ignore.
	OnUnreachable func()
}

// Acks is what the kernel knows of a peer's acknowledgements of the octets
// sent to it (Config.PeerAcks).
type Acks struct {
	// Acked counts the octets the peer has acknowledged so far
	// (tcpi_bytes_acked); it only grows.
	Acked uint64
	// Waiting: something the peer's host must answer is outstanding: octets
	// sent and not yet acknowledged (tcpi_unacked > 0), or two window probes
	// in a row left unanswered (tcpi_probes >= 2) when the peer's receive
	// window is closed. A peer with nothing to acknowledge is never judged.
	Waiting bool
}

// Monitor runs the heartbeat sender and receiver of one connection, the two
// processes of rabbit_heartbeat:start/7. Start creates it; Stop ends it.
//
// Each loop is one timer, re-armed after every check the way
// rabbit_heartbeat:heartbeater/3 restarts its receive ... after: the period
// runs from the end of one check to the next, so a SendHeartbeat blocked on a
// full socket delays the next check instead of leaving a stale tick that
// would fire at once (which a time.Ticker would do). Ticks drift by the length
// of a check, microseconds here against RabbitMQ's ~1 ms; detection bounds
// are counted in the receiver's own ticks, so drift does not change them, and
// under a fake clock the cadence is exactly T/2.
//
// The timers are time.AfterFunc timers: each check runs on a short-lived
// goroutine, so an idle connection holds no goroutine and no stack, only the
// Monitor and two timers, about 0.6 KiB (BenchmarkIdleConnections). A
// goroutine parked on a timer per loop measured 6.7 KiB per connection, over
// half the 12 KiB budget of a whole idle connection. The two loops are
// independent, as RabbitMQ's two processes are: a sender blocked on a dead
// peer's full socket does not hold up timeout detection.
//
// Lock order: sendMu and recvMu are never held together.
type Monitor struct {
	cfg       Config
	sendTimer *time.Timer // nil for an inert Monitor
	recvTimer *time.Timer
	state     atomic.Uint32 // stateStopped | stateSendFired | stateRecvFired

	sendMu   sync.Mutex // held for a whole sender check, SendHeartbeat included
	sendLast uint64     // send_oct at the previous check
	sendDue  time.Time  // when the armed sender check is due (Coalesce only)

	recvMu     sync.Mutex // held for a receiver check (never across a callback) and by Pause/Resume
	recvLast   uint64     // recv_oct at the previous check
	recvSame   uint8      // consecutive checks without change
	recvPaused bool
	ackPrimed  bool      // ackLast holds a value read since Pause (PeerAcks)
	recvDue    time.Time // when the armed check is due; earlier callbacks are stale
	ackLast    uint64    // Acks.Acked at the previous paused check

	late lateState // the late-peer warning (late.go): run by the sender's checks
}

// State bits. A check claims its final callback by setting its fired bit with
// a compare-and-swap that fails once Stop has set stateStopped, so no callback
// is claimed after Stop has begun.
const (
	stateStopped    = 1 << iota // Stop has begun
	stateSendFired              // OnSendError claimed: the sender is over
	stateRecvFired              // OnTimeout or OnUnreachable claimed: the receiver is over
	stateRecvPaused             // between Pause and Resume (read by the late check)
)

// Start starts the heartbeat loops of a connection whose tune-ok has just been
// processed: RabbitMQ starts them in handle_method0(tune_ok), before
// connection.open, with the client's heartbeat for both directions.
//
// With cfg.Interval <= 0 it starts nothing and returns an inert Monitor whose
// methods do nothing (rabbit_heartbeat:start_heartbeater(0, ...) -> none).
// Otherwise it panics if cfg.Counters or cfg.SendHeartbeat is nil.
func Start(cfg Config) *Monitor {
	m := &Monitor{cfg: cfg}
	if cfg.Interval <= 0 {
		return m
	}
	if cfg.Counters == nil || cfg.SendHeartbeat == nil {
		panic("heartbeat: Start needs Counters and SendHeartbeat")
	}
	if m.cfg.Coalesce > m.cfg.Interval/8 {
		m.cfg.Coalesce = 0
	}
	now := time.Now()
	m.late.resumed.Store(now.UnixNano())
	m.sendMu.Lock() // the first check may come before the field is set
	m.sendDue = m.nextDue(time.Time{}, now, m.sendPeriod())
	m.sendTimer = time.AfterFunc(m.sendDue.Sub(now), m.senderCheck)
	m.sendMu.Unlock()
	m.recvMu.Lock()
	m.recvDue = m.nextDue(time.Time{}, now, cfg.Interval)
	m.recvTimer = time.AfterFunc(m.recvDue.Sub(now), m.receiverCheck)
	m.recvMu.Unlock()
	return m
}

// CoalesceFor is the Config.Coalesce step the broker uses for a heartbeat
// interval: 1/250 of it (so that it divides Interval/2), at most 4 ms, a step
// no client can tell from scheduling noise (RabbitMQ's own checks drift by
// about a millisecond each).
func CoalesceFor(interval time.Duration) time.Duration {
	return min(interval/250, 4*time.Millisecond)
}

// gridOffset is how far t lies past the Coalesce grid point of step q at or
// before it. The grid is counted from the Unix epoch on the wall clock, so
// that it is the same for every Monitor of the process and, under
// testing/synctest, the same on every run; a step of the wall clock only
// moves the grid (a check is never earlier than its period).
func gridOffset(t time.Time, q time.Duration) time.Duration {
	off := time.Duration(t.UnixNano() % int64(q))
	if off < 0 {
		off += q
	}
	return off
}

// nextDue returns when the next check of a loop with this period is due: for
// a check due at due (zero: none yet) that ends now. See Config.Coalesce.
func (m *Monitor) nextDue(due, now time.Time, period time.Duration) time.Time {
	q := m.cfg.Coalesce
	if q <= 0 {
		return now.Add(period)
	}
	if !due.IsZero() && now.Sub(due) < q {
		return due.Add(period) // on time: stay on the grid
	}
	t := now.Add(period)
	off := gridOffset(t, q)
	if off == 0 {
		return t
	}
	return t.Add(q - off) // a first or late check: never less than a period
}

// Interval returns the heartbeat T the Monitor was started with.
func (m *Monitor) Interval() time.Duration { return m.cfg.Interval }

// Pause suspends the receiver, for a connection that has stopped reading its
// socket (blocked by an alarm or by flow control): no timeout is reported
// until Resume. The sender keeps going. This is rabbit_heartbeat:pause_monitor/1,
// which rabbit_reader calls on the transition to blocked. A receiver check in
// progress finishes first (it may claim OnTimeout); after that no timeout is
// claimed until Resume. With Config.PeerAcks the receiver goes on checking
// the peer's acknowledgements instead, from a fresh state (its first check T
// after Pause only records), and may claim OnUnreachable. Pausing a paused,
// stopped, timed-out or inert Monitor does nothing.
func (m *Monitor) Pause() {
	if m.recvTimer == nil {
		return
	}
	m.recvMu.Lock()
	defer m.recvMu.Unlock()
	if m.recvPaused || m.state.Load()&(stateStopped|stateRecvFired) != 0 {
		return
	}
	m.recvPaused = true
	m.state.Or(stateRecvPaused)
	if m.cfg.PeerAcks == nil {
		m.recvTimer.Stop() // pause_monitor: the pending `after` is abandoned
		return
	}
	m.recvSame, m.ackPrimed = 0, false
	m.recvDue = time.Time{} // off the old schedule: a first check again
	m.armReceiver()
}

// Resume restarts a paused receiver with a fresh state, as
// rabbit_heartbeat:resume_monitor/1 does ({0, 0}): its first check comes T
// after Resume and counts as activity, so a silent peer is reported exactly
// 3T after Resume. Resuming a Monitor that is not paused does nothing.
func (m *Monitor) Resume() {
	if m.recvTimer == nil {
		return
	}
	m.recvMu.Lock()
	defer m.recvMu.Unlock()
	if !m.recvPaused || m.state.Load()&stateStopped != 0 {
		return
	}
	m.recvPaused = false
	m.state.And(^uint32(stateRecvPaused))
	m.late.resumed.Store(time.Now().UnixNano())
	m.recvLast, m.recvSame = 0, 0 // resume_monitor: Recurse({0, 0})
	m.recvDue = time.Time{}       // off the old schedule: a first check again
	m.armReceiver()
}

// Stop stops both loops and waits for a check in progress to finish. No
// callback is claimed after Stop has begun; one claimed just before may still
// be running when Stop returns (so OnTimeout and OnSendError may call Stop). Stop waits for a SendHeartbeat in progress:
// close the connection first if that write may be blocked on a full socket.
// Stop is idempotent and safe to call from several goroutines.
func (m *Monitor) Stop() {
	if m.sendTimer == nil {
		return
	}
	m.state.Or(stateStopped)
	m.sendTimer.Stop()
	m.recvTimer.Stop()
	// A check already under way sees stopped when it next looks, or has
	// claimed its callback; wait for it to let go.
	m.sendMu.Lock()
	m.sendMu.Unlock()
	m.recvMu.Lock()
	m.recvMu.Unlock()
}

func (m *Monitor) sendPeriod() time.Duration {
	// rabbit_heartbeat:start_heartbeat_sender/4: TimeoutSec * 1000 div 2.
	return max(m.cfg.Interval/2, 1)
}

// senderCheck is one pass of rabbit_heartbeat:heartbeater/3 with StatName
// send_oct and Threshold 0.
func (m *Monitor) senderCheck() {
	m.sendMu.Lock()
	if m.state.Load()&stateStopped != 0 {
		m.sendMu.Unlock()
		return
	}
	m.checkLate()
	cur := m.cfg.Counters.Sent()
	// heartbeater/3: StatVal0 =:= 0 andalso send_oct sends at the first
	// interval (rabbitmq-common#293); later, send only if nothing was sent.
	if m.sendLast == 0 || cur == m.sendLast {
		if err := m.cfg.SendHeartbeat(); err != nil {
			claimed := m.claim(stateSendFired)
			m.sendMu.Unlock() // the sender is over: its timer stays disarmed
			if claimed && m.cfg.OnSendError != nil {
				m.cfg.OnSendError(err)
			}
			return
		}
		// handle_get_sock_stats/5 re-reads send_oct after the handler, so
		// the heartbeat's own 8 octets are not taken for activity.
		cur = m.cfg.Counters.Sent()
	}
	m.sendLast = cur
	// Not after a Stop that came during SendHeartbeat: its timer.Stop has
	// passed. A Stop from now on comes after this Reset and undoes it.
	if m.state.Load()&stateStopped == 0 {
		if m.cfg.Coalesce <= 0 {
			m.sendTimer.Reset(m.sendPeriod())
		} else {
			now := time.Now()
			m.sendDue = m.nextDue(m.sendDue, now, m.sendPeriod())
			m.sendTimer.Reset(m.sendDue.Sub(now))
		}
	}
	m.sendMu.Unlock()
}

// receiverCheck is one pass of rabbit_heartbeat:heartbeater/3 with StatName
// recv_oct and Threshold 1.
func (m *Monitor) receiverCheck() {
	m.recvMu.Lock()
	// A callback released before a Pause, Resume or Stop that re-armed or
	// disarmed the timer is stale: the check it stood for was cancelled.
	if m.state.Load()&(stateStopped|stateRecvFired) != 0 || time.Now().Before(m.recvDue) ||
		m.recvPaused && m.cfg.PeerAcks == nil {
		m.recvMu.Unlock()
		return
	}
	if m.recvPaused {
		if m.peerGone() {
			claimed := m.claim(stateRecvFired)
			m.recvMu.Unlock()
			if claimed && m.cfg.OnUnreachable != nil {
				m.cfg.OnUnreachable()
			}
			return
		}
		m.armReceiver()
		m.recvMu.Unlock()
		return
	}
	cur := m.cfg.Counters.Received()
	switch {
	case cur != m.recvLast:
		m.recvLast, m.recvSame = cur, 0
	case m.recvSame < 1:
		m.recvSame++
	case m.cfg.Unread != nil && m.cfg.Unread():
		// Octets are waiting in the socket: the peer spoke, we did not read.
		m.recvSame = 0
	default:
		// Second unchanged check: ReceiveFun, then the receiver stops.
		claimed := m.claim(stateRecvFired)
		m.recvMu.Unlock()
		if claimed && m.cfg.OnTimeout != nil {
			m.cfg.OnTimeout()
		}
		return
	}
	m.armReceiver()
	m.recvMu.Unlock()
}

// peerGone is one receiver check while paused (Config.PeerAcks): the
// receiver's two-check rule applied to the peer's acknowledgements. A check
// counts as silence only when something waits for an acknowledgement and the
// acknowledged count has not moved since the previous check; the second such
// check in a row reports the peer gone. recvMu is held.
func (m *Monitor) peerGone() bool {
	a, ok := m.cfg.PeerAcks()
	switch {
	case !ok || !m.ackPrimed || !a.Waiting || a.Acked != m.ackLast:
		m.ackLast, m.ackPrimed, m.recvSame = a.Acked, ok, 0
		return false
	case m.recvSame < 1:
		m.recvSame++
		return false
	}
	return true
}

// claim sets the fired bit unless Stop has begun, and reports whether it did.
func (m *Monitor) claim(fired uint32) bool {
	for {
		v := m.state.Load()
		if v&stateStopped != 0 {
			return false
		}
		if m.state.CompareAndSwap(v, v|fired) {
			return true
		}
	}
}

// armReceiver schedules the next receiver check T from now, unless Stop has
// begun (its timer.Stop may have passed already). recvMu is held.
func (m *Monitor) armReceiver() {
	if m.state.Load()&stateStopped != 0 {
		return
	}
	now := time.Now()
	m.recvDue = m.nextDue(m.recvDue, now, m.cfg.Interval)
	m.recvTimer.Reset(m.recvDue.Sub(now))
}
