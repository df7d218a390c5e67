// Package brokertest runs a beatmq broker inside Go tests, as net/http/httptest
// does for HTTP servers and miniredis for Redis: on 127.0.0.1 and a free port,
// silent unless asked, stopped by t.Cleanup, with direct inspection of its
// connections (negotiated heartbeat, frame_max, channel_max, state, close
// reason) that needs no wire.
//
//	func TestPublish(t *testing.T) {
//		b := brokertest.Run(t)
//		conn, err := amqp091.Dial(b.URL())
//		...
//	}
//
// Options take the value the broker proposes or enforces, as beatmq's flags
// and RabbitMQ's configuration do: WithHeartbeat(0) proposes no heartbeat,
// WithFrameMax(0) and WithChannelMax(0) set no limit, WithHandshakeTimeout(0)
// sets no timeout, and an option left out keeps RabbitMQ's default.
// (broker.Config itself, which WithConfig takes, can only tell "not set" by 0,
// so there 0 is the default and broker.None is none; see broker.Explicit.)
//
// Options shorten the protocol's timers for tests: WithHeartbeatUnit(100 *
// time.Millisecond) makes a heartbeat of 1 on the wire last 100 ms.
//
// RawConn is a scripted client that sends and expects exact bytes, for the
// protocol's edge cases that real clients never produce.
package brokertest

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/alarm"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/broker/metrics"
)

// ConnInfo is broker.ConnInfo, so that tests need only this package.
type ConnInfo = broker.ConnInfo

// StateTerminated is broker.StateTerminated: the state of a connection that
// has ended.
const StateTerminated = broker.StateTerminated

// Broker is a running broker for tests.
type Broker struct {
	o    options
	srv  *broker.Server
	mem  *alarm.MemoryMonitor // nil unless WithMemoryMonitor
	disk *alarm.DiskMonitor   // nil unless WithDiskFreeLimit
	prom *http.Server         // nil unless WithPrometheus
	addr string
	// tlsAddr is the amqps listener's, tlsDone its Serve's result (tls.go).
	tlsAddr string
	tlsDone chan error
	// promAddr is the metrics' address once WithPrometheus started them,
	// kept across Restart.
	promAddr string
	logs     *LogBuffer
	done     chan error
	once     sync.Once
}

// Option configures Run and Start.
type Option func(*options)

type options struct {
	cfg      broker.Config
	logger   *slog.Logger
	logs     bool
	logLevel slog.Level
	tlog     testing.TB
	memAlarm bool
	memFrac  float64
	disk     *alarm.DiskFreeLimit
	ca       *CA   // WithTLS's
	tlsErr   error // WithTLS's failure, returned by Start
	tlsAuth  tls.ClientAuthType
	prom     bool
}

// WithPrometheus serves the broker's Prometheus metrics (broker/metrics,
// as beatmq does with --prometheus-addr) on 127.0.0.1 and a free port;
// MetricsURL returns where. Off by default.
func WithPrometheus() Option {
	return func(o *options) { o.prom = true }
}

// WithMemoryMonitor runs RabbitMQ's memory monitor (broker/alarm) with the
// high watermark fraction (0 to 1 of the machine's memory), as a stand-alone
// beatmq does; MemoryMonitor returns it. Without this option no process-wide
// memory sampling runs, so one test's memory use never blocks another's
// publishers.
func WithMemoryMonitor(fraction float64) Option {
	return func(o *options) { o.memAlarm, o.memFrac = true, fraction }
}

// WithConfig starts from cfg instead of broker.DefaultConfig(). Addr is always
// replaced by 127.0.0.1:0; later options still apply.
func WithConfig(cfg broker.Config) Option {
	return func(o *options) { o.cfg = cfg }
}

// WithHeartbeat sets the heartbeat proposed in connection.tune, in seconds
// (0: propose none).
func WithHeartbeat(sec int) Option {
	return func(o *options) { o.cfg.Heartbeat = broker.Explicit(sec) }
}

// WithHeartbeatUnit sets Config.HeartbeatUnit: how long one protocol second
// lasts (heartbeat timeout, closing timeout, the 3-second silent-close delay).
func WithHeartbeatUnit(d time.Duration) Option {
	return func(o *options) { o.cfg.HeartbeatUnit = d }
}

// WithHandshakeTimeout sets the time from accept until connection.open must
// have been answered (0: no timeout).
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *options) { o.cfg.HandshakeTimeout = broker.Explicit(d) }
}

// WithFrameMax sets the frame_max proposed in connection.tune and enforced
// (0: no limit; otherwise at least 4096).
func WithFrameMax(n int) Option {
	return func(o *options) { o.cfg.FrameMax = broker.Explicit(n) }
}

// WithChannelMax sets the channel_max proposed in connection.tune and
// enforced (0: no limit).
func WithChannelMax(n int) Option {
	return func(o *options) { o.cfg.ChannelMax = broker.Explicit(n) }
}

// WithUsers replaces the users (default guest/guest).
func WithUsers(users ...broker.User) Option {
	return func(o *options) { o.cfg.Users = users }
}

// WithLogger sends the broker's log to l.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithLogs records the broker's log, in RabbitMQ's text layout at debug level,
// in a buffer that Logs returns.
func WithLogs() Option {
	return func(o *options) { o.logs, o.logLevel = true, slog.LevelDebug }
}

// WithTestLog writes the broker's log (RabbitMQ's text layout, info and up)
// to t.Log, so it shows with the failures of t.
func WithTestLog(t testing.TB) Option {
	return func(o *options) { o.tlog = t }
}

// Start starts a broker on 127.0.0.1 and a free port. Stop it with Close.
// WithDiskFreeLimit runs RabbitMQ's free disk space monitor (broker/alarm)
// on the data directory's filesystem with limit, as a stand-alone beatmq
// does with --disk-free-limit; DiskMonitor returns it. It needs WithDataDir:
// without a data directory Start fails.
func WithDiskFreeLimit(limit alarm.DiskFreeLimit) Option {
	return func(o *options) { o.disk = &limit }
}

// Tests should prefer Run.
func Start(opts ...Option) (*Broker, error) {
	o := options{cfg: broker.DefaultConfig(), tlsAuth: tls.VerifyClientCertIfGiven}
	o.cfg.MgmtAddr = ""
	for _, opt := range opts {
		opt(&o)
	}
	if o.tlsErr != nil {
		return nil, fmt.Errorf("brokertest: WithTLS: %w", o.tlsErr)
	}
	if o.ca != nil && o.cfg.TLS != nil {
		o.cfg.TLS = o.cfg.TLS.Clone()
		o.cfg.TLS.ClientAuth = o.tlsAuth
	}
	o.cfg.Addr = "127.0.0.1:0"
	b := &Broker{}
	var handlers []slog.Handler
	if o.logger != nil {
		handlers = append(handlers, o.logger.Handler())
	}
	if o.logs {
		b.logs = &LogBuffer{}
		handlers = append(handlers, logfmt.NewTextHandler(b.logs, &logfmt.Options{Level: o.logLevel}))
	}
	if o.tlog != nil {
		handlers = append(handlers, logfmt.NewTextHandler(testWriter{o.tlog}, nil))
	}
	switch len(handlers) {
	case 0:
	case 1:
		o.cfg.Logger = slog.New(handlers[0])
	default:
		o.cfg.Logger = slog.New(fanout(handlers))
	}
	b.o = o
	if err := b.start(o.cfg.Addr); err != nil {
		return nil, err
	}
	return b, nil
}

// start starts the broker of b.o on addr.
func (b *Broker) start(addr string) error {
	srv, err := broker.New(b.o.cfg)
	if err != nil {
		return err
	}
	l, err := listen(addr)
	if err != nil {
		_ = srv.Close()
		return err
	}
	b.srv, b.addr, b.done = srv, l.Addr().String(), make(chan error, 1)
	if b.o.memAlarm {
		if b.mem, err = alarm.NewMemoryMonitor(srv, b.o.memFrac, b.o.cfg.Logger); err != nil {
			_ = l.Close()
			_ = srv.Close()
			return err
		}
		b.mem.Start()
	}
	if b.o.disk != nil {
		if b.o.cfg.DataDir == "" {
			err = errors.New("brokertest: WithDiskFreeLimit needs WithDataDir")
		} else {
			b.disk, err = alarm.NewDiskMonitor(srv, b.o.cfg.DataDir, *b.o.disk, b.o.cfg.Logger)
		}
		if err != nil {
			b.stopMonitors()
			_ = l.Close()
			_ = srv.Close()
			return err
		}
		b.disk.Start()
	}
	if b.o.prom {
		if err := b.startMetrics(); err != nil {
			b.stopMonitors()
			_ = l.Close()
			_ = srv.Close()
			return err
		}
	}
	go func() { b.done <- srv.Serve(l) }()
	select {
	case <-srv.Ready():
	case err := <-b.done:
		return err
	}
	if b.o.cfg.TLS != nil {
		tlsAddr := cmp.Or(b.tlsAddr, "127.0.0.1:0") // a restart keeps the port
		if err := b.serveTLS(srv, tlsAddr); err != nil {
			b.stop()
			return err
		}
	}
	return nil
}

// startMetrics serves the metrics, on the address they had before a
// Restart.
func (b *Broker) startMetrics() error {
	pl, err := listen(cmp.Or(b.promAddr, "127.0.0.1:0"))
	if err != nil {
		return err
	}
	b.promAddr = pl.Addr().String()
	b.prom = &http.Server{
		Handler:           metrics.NewHandler(metrics.Sources{Server: b.srv, Memory: b.mem, Disk: b.disk}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = b.prom.Serve(pl) }()
	return nil
}

// stopMonitors stops the resource monitors that run.
func (b *Broker) stopMonitors() {
	if b.mem != nil {
		b.mem.Stop()
		b.mem = nil
	}
	if b.disk != nil {
		b.disk.Stop()
		b.disk = nil
	}
}

// listen listens on addr; a port just let go by a broker of this test may
// take a moment to be free again.
func listen(addr string) (net.Listener, error) {
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			return l, err
		}
	}
}

// stop shuts the running broker down as Close does.
func (b *Broker) stop() {
	if b.prom != nil {
		_ = b.prom.Close()
		b.prom = nil
	}
	b.stopMonitors()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	<-b.done
	if b.tlsDone != nil {
		<-b.tlsDone
		b.tlsDone = nil
	}
}

// Restart stops the broker as Close does (clients get connection.close 320
// CONNECTION_FORCED) and starts it again on the same address with the same
// options. With WithDataDir, durable queues and their persistent messages
// are still there, the ones delivered and not acked marked redelivered: a
// test can check that its client reconnects and handles redelivery. Without
// it, the new broker starts empty.
func (b *Broker) Restart() error {
	b.stop()
	return b.start(b.addr)
}

// WithDataDir keeps durable queues, their persistent messages and the
// durable topology in dir, as the beatmq command does with --data-dir, so
// that they survive Restart (or a new broker started on dir). Without it
// the broker keeps everything in memory.
func WithDataDir(dir string) Option {
	return func(o *options) { o.cfg.DataDir = dir }
}

// Run starts a broker for the test and stops it when the test ends: open
// connections get connection.close 320 (CONNECTION_FORCED) and a second to
// answer, then whatever is left is reset.
func Run(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	b, err := Start(opts...)
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Close shuts the broker down (see Run) and waits until every goroutine it
// started has ended. It may be called more than once.
func (b *Broker) Close() {
	b.once.Do(b.stop)
}

// MemoryMonitor returns the memory monitor of a broker started
// WithMemoryMonitor, else nil.
func (b *Broker) MemoryMonitor() *alarm.MemoryMonitor { return b.mem }

// DiskMonitor returns the free disk space monitor of a broker started
// WithDiskFreeLimit, else nil.
func (b *Broker) DiskMonitor() *alarm.DiskMonitor { return b.disk }

// MetricsURL returns the base URL of the Prometheus metrics of a broker
// started WithPrometheus, "http://127.0.0.1:PORT" (scrape MetricsURL() +
// "/metrics"), else "".
func (b *Broker) MetricsURL() string {
	if b.promAddr == "" {
		return ""
	}
	return "http://" + b.promAddr
}

// Server returns the broker itself.
func (b *Broker) Server() *broker.Server { return b.srv }

// Addr returns the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL returns an amqp:// URL for user guest: amqp://guest:guest@127.0.0.1:PORT/
func (b *Broker) URL() string { return "amqp://guest:guest@" + b.addr + "/" }

// Logs returns the log buffer of a broker started WithLogs, else nil.
func (b *Broker) Logs() *LogBuffer { return b.logs }

// Connections returns the connections not yet ended, oldest first.
func (b *Broker) Connections() []broker.ConnInfo { return b.srv.Connections() }

// ClosedConnections returns the last connections that ended, oldest first,
// with their close reasons.
func (b *Broker) ClosedConnections() []broker.ConnInfo { return b.srv.ClosedConnections() }

// Conn returns the connection (open or recently ended) whose ID, Name or
// client-provided name is name.
func (b *Broker) Conn(name string) (broker.ConnInfo, bool) {
	for _, list := range [][]broker.ConnInfo{b.srv.Connections(), b.srv.ClosedConnections()} {
		for i := len(list) - 1; i >= 0; i-- {
			c := list[i]
			if c.ID == name || c.Name == name || c.ClientName == name {
				return c, true
			}
		}
	}
	return broker.ConnInfo{}, false
}

// ConnFrom returns the connection (open or recently ended) whose peer address
// is local, the local address of a client socket.
func (b *Broker) ConnFrom(local net.Addr) (broker.ConnInfo, bool) {
	for _, list := range [][]broker.ConnInfo{b.srv.Connections(), b.srv.ClosedConnections()} {
		for i := len(list) - 1; i >= 0; i-- {
			if list[i].Peer == local.String() {
				return list[i], true
			}
		}
	}
	return broker.ConnInfo{}, false
}

// WaitConn polls until a connection (open or recently ended) satisfies ok, or
// timeout passes.
func (b *Broker) WaitConn(timeout time.Duration, ok func(broker.ConnInfo) bool) (broker.ConnInfo, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, list := range [][]broker.ConnInfo{b.srv.Connections(), b.srv.ClosedConnections()} {
			for _, c := range list {
				if ok(c) {
					return c, true
				}
			}
		}
		if time.Now().After(deadline) {
			return broker.ConnInfo{}, false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// WaitClosed waits until the connection from client address local has ended
// and returns its final state.
func (b *Broker) WaitClosed(local net.Addr, timeout time.Duration) (broker.ConnInfo, bool) {
	return b.WaitConn(timeout, func(c broker.ConnInfo) bool {
		return c.Peer == local.String() && c.State == broker.StateTerminated
	})
}

// SetBlocked raises or clears the broker's memory alarm (see
// broker.Server.SetBlocked).
func (b *Broker) SetBlocked(on bool) { b.srv.SetBlocked(on) }

// SetAlarm raises or clears the resource alarm of resource,
// broker.AlarmMemory or broker.AlarmDisk (see broker.Server.SetAlarm).
func (b *Broker) SetAlarm(resource string, on bool) { b.srv.SetAlarm(resource, on) }

// Fault injects f into the connection called name: its ID, its Name or its
// client-provided connection_name (see broker.Server.SetFault), e.g.
//
//	b.Fault("under-test", broker.Fault{Kind: broker.FaultHalfOpen, For: 5 * time.Second})
//
// It fails, changing nothing, for an invalid fault or an unknown connection.
func (b *Broker) Fault(name string, f broker.Fault) error { return b.srv.SetFault(name, f) }

// ClearFault ends the fault injected into the connection called name, if any.
func (b *Broker) ClearFault(name string) error { return b.srv.ClearFault(name) }

// WithHeartbeatWarn sets the client silence, in units of T, after which a
// late-heartbeat warning is logged (0: no warning; default 1.5).
func WithHeartbeatWarn(t float64) Option {
	return func(o *options) { o.cfg.HeartbeatWarn = broker.Explicit(t) }
}

// LogBuffer collects log output; safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines returns the lines logged so far that contain substr.
func (l *LogBuffer) Lines(substr string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if line != "" && strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// WaitFor waits until a logged line contains substr and returns it.
func (l *LogBuffer) WaitFor(substr string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if lines := l.Lines(substr); len(lines) > 0 {
			return lines[0], true
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fanout sends every record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
