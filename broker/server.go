package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/broker/vhost"
	"github.com/beatmq/beatmq/broker/vhost/store"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close.
var ErrServerClosed = errors.New("beatmq: server closed")

// closedKept is how many ended connections ClosedConnections remembers.
const closedKept = 256

// Server is an AMQP 0-9-1 broker. Create it with New, feed it listeners with
// Serve (or ListenAndServe), stop it with Shutdown or Close. All methods are
// safe for concurrent use.
type Server struct {
	cfg     Config
	set     settings
	started time.Time
	alarms  alarmSet // resource alarms in effect (alarms.go)
	// vhMu guards vhosts, which AddVHost and DeleteVHost change (vhosts.go).
	// A leaf lock.
	vhMu   sync.RWMutex
	vhosts map[string]*vhost.VHost
	users  *userDB // users and permissions (users.go, permissions.go)

	// With a data directory (durable.go): the message store, the ids it
	// hands out, and the lock that orders writes of the definitions file.
	store    *store.Store
	queueIDs atomic.Uint32
	msgIDs   atomic.Uint64
	defsMu   sync.Mutex
	importMu sync.Mutex // ImportDefinitions, from its checks to the end; taken before any other lock
	// cleanStart: the data directory's last broker stopped cleanly.
	cleanStart bool
	closeOnce  sync.Once // closeMessaging
	totals     engine.Totals

	// mu guards the fields below. Lock order: mu before any conn's mu.
	mu        sync.Mutex
	listeners map[net.Listener]listenerKind
	conns     map[*engine.Conn]struct{}
	closed    []ConnInfo // ring of the last closedKept ended connections
	closedN   int        // total ended connections
	// endedBeats sums the heartbeat frames of the ended connections
	// (stats.go).
	endedBeats struct{ sent, received uint64 }
	addr       net.Addr
	ready      chan struct{} // closed when the first listener accepts
	down       bool          // Shutdown or Close has begun
	// stopCtx ends (stopAll) when Shutdown or Close begins: it interrupts
	// TLS handshakes in progress (tls_listener.go).
	stopCtx context.Context
	stopAll context.CancelFunc
	serving sync.WaitGroup
	running sync.WaitGroup // connection goroutines
}

// New checks cfg and returns a Server that is not yet listening.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("beatmq: invalid config: %w", err)
	}
	s := &Server{
		cfg:       cfg,
		set:       cfg.settings(),
		listeners: make(map[net.Listener]listenerKind),
		conns:     make(map[*engine.Conn]struct{}),
		ready:     make(chan struct{}),
		started:   time.Now(),
		users:     newUserDB(),
	}
	s.stopCtx, s.stopAll = context.WithCancel(context.Background())
	s.set.conn.Totals = &s.totals
	if cfg.DataDir == "" {
		s.initMessaging()
		if err := s.seedUsers(); err != nil {
			return nil, fmt.Errorf("beatmq: %w", err)
		}
		return s, nil
	}
	rec, defs, err := s.openData()
	if err != nil {
		return nil, fmt.Errorf("beatmq: %w", err)
	}
	s.initMessaging()
	if err := s.restoreData(rec, defs); err != nil {
		s.closeMessaging()
		return nil, fmt.Errorf("beatmq: %w", err)
	}
	return s, nil
}

// Config returns the configuration the server was created with.
func (s *Server) Config() Config { return s.cfg }

// ListenAndServe listens on Config.Addr (DefaultAddr if empty, with Listen) and serves
// until Shutdown or Close, when it returns ErrServerClosed. A listen error,
// such as a port in use, is returned at once.
func (s *Server) ListenAndServe() error {
	addr := s.cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	l, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l until Shutdown or Close, then returns
// ErrServerClosed; any other accept error is returned as is. Serve closes l.
// It may be called for several listeners.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, nil) }

// serve is Serve, or ServeTLS when tc is not nil.
func (s *Server) serve(l net.Listener, tc *tls.Config) error {
	kind := listenerTCP
	if tc != nil {
		kind = listenerTLS
	}
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = kind
	if s.addr == nil {
		s.addr = l.Addr()
	}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		_ = l.Close()
	}()

	// tcp_listener:init/1
	s.set.log.Info("started "+kind.label()+" on "+l.Addr().String(), logfmt.KeyListener, l.Addr().String())
	s.mu.Lock()
	select {
	case <-s.ready:
	default:
		close(s.ready)
	}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isDown() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporaryAccept(err) {
				// Out of descriptors or similar: back off as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.set.log.Warn(fmt.Sprintf("error accepting AMQP connection on %s: %v; retrying in %v", l.Addr(), err, backoff))
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.mu.Lock()
		if s.down {
			s.mu.Unlock()
			_ = nc.Close()
			return ErrServerClosed
		}
		s.applyTCPOptions(nc)
		if tc != nil {
			s.running.Add(1) // under s.mu, so that a shutdown waits for it
			s.mu.Unlock()
			go s.serveTLSConn(nc, tc)
			continue
		}
		c := s.newConnLocked(nc)
		s.mu.Unlock()
		s.Go(c.Serve)
	}
}

// newConnLocked registers a connection on nc. s.mu is held.
func (s *Server) newConnLocked(nc net.Conn) *engine.Conn {
	c := engine.New(host{s}, &s.set.conn, nc)
	s.conns[c] = struct{}{}
	return c
}

// ServeConn serves one connection that was accepted elsewhere, as
// net/http's ServeConn does, and returns when it has ended. nc may be any
// net.Conn: a net.Pipe end lets tests run a connection under
// testing/synctest. After Shutdown or Close, nc is closed at once.
func (s *Server) ServeConn(nc net.Conn) {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	c := s.newConnLocked(nc)
	s.running.Add(1)
	s.mu.Unlock()
	func() {
		defer s.running.Done()
		c.Serve()
	}()
	<-c.Done()
}

// Go runs f on a new goroutine that Shutdown and Close wait for.
func (s *Server) Go(f func()) {
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		f()
	}()
}

func (s *Server) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// StartedAt returns when New created the server.
func (s *Server) StartedAt() time.Time { return s.started }

// ClusterName returns the cluster_name advertised in connection.start
// ("beatmq@" + host name unless configured).
func (s *Server) ClusterName() string { return s.set.clusterName }

// Listeners returns the addresses Serve and ServeTLS are accepting on
// (AMQPListeners tells which is which).
func (s *Server) Listeners() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, 0, len(s.listeners))
	for l := range s.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Ready returns a channel that is closed once Serve (or ServeTLS) is
// accepting connections on its first listener (and has logged "started TCP
// listener" or "started TLS (SSL) listener").
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address of the first listener, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops the listeners, then closes every open connection the way
// RabbitMQ does when it stops: connection.close 320 "CONNECTION_FORCED -
// broker shutdown", then the close handshake. Connections still in the
// handshake are dropped. Shutdown returns when every connection has ended,
// or when ctx ends: then the remaining sockets are reset and ctx's error is
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.beginShutdown()
	for _, c := range conns {
		c.RequestClose(amqp.ConnectionForced, "CONNECTION_FORCED - broker shutdown", ReasonForced)
	}
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		s.serving.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.closeMessaging()
		return nil
	case <-ctx.Done():
	}
	s.abortAll()
	<-done
	s.closeMessaging()
	return ctx.Err()
}

// Close stops the listeners and resets every connection at once, with no
// close handshake. It returns when every connection goroutine has ended.
func (s *Server) Close() error {
	s.beginShutdown()
	s.abortAll()
	s.running.Wait()
	s.serving.Wait()
	s.closeMessaging()
	return nil
}

func (s *Server) beginShutdown() []*engine.Conn {
	s.mu.Lock()
	first := !s.down
	s.down = true
	ls := make(map[net.Listener]listenerKind, len(s.listeners))
	for l, k := range s.listeners {
		ls[l] = k
	}
	conns := s.liveLocked()
	s.mu.Unlock()
	s.stopAll()
	for _, v := range s.allVHosts() {
		v.BeginShutdown()
	}
	for l, k := range ls {
		_ = l.Close()
		s.set.log.Info("stopped "+k.label()+" on "+l.Addr().String(), logfmt.KeyListener, l.Addr().String())
	}
	if first && len(conns) > 0 {
		s.set.log.Info(fmt.Sprintf("closing all %d AMQP connections: broker shutdown", len(conns)))
	}
	return conns
}

func (s *Server) abortAll() {
	s.mu.Lock()
	conns := s.liveLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.Abort(ReasonForced)
	}
}

func (s *Server) liveLocked() []*engine.Conn {
	conns := make([]*engine.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// forget removes an ended connection, keeping its final snapshot.
func (s *Server) forget(c *engine.Conn) {
	info := c.Info()
	s.mu.Lock()
	delete(s.conns, c)
	if len(s.closed) < closedKept {
		s.closed = append(s.closed, info)
	} else {
		s.closed[s.closedN%closedKept] = info
	}
	s.closedN++
	s.endedBeats.sent += info.Telemetry.HeartbeatsSent
	s.endedBeats.received += info.Telemetry.HeartbeatsReceived
	s.mu.Unlock()
}

// Connections returns a snapshot of every connection not yet ended, oldest first.
func (s *Server) Connections() []ConnInfo {
	s.mu.Lock()
	conns := s.liveLocked()
	s.mu.Unlock()
	out := make([]ConnInfo, 0, len(conns))
	for _, c := range conns {
		out = append(out, c.Info())
	}
	sortInfos(out)
	return out
}

// ClosedConnections returns the last connections that ended (up to 256),
// oldest first, with their close reasons.
func (s *Server) ClosedConnections() []ConnInfo {
	s.mu.Lock()
	out := slices.Clone(s.closed)
	s.mu.Unlock()
	sortInfos(out)
	return out
}

func sortInfos(in []ConnInfo) {
	slices.SortFunc(in, func(a, b ConnInfo) int { return a.ConnectedAt.Compare(b.ConnectedAt) })
}

// CloseConnection closes the open (running or blocked) connection whose Name
// or ID is name with connection.close 320 "CONNECTION_FORCED - <reason>", as
// the management API's DELETE /api/connections/{name} does. It returns once
// the connection's channels are released and connection.close is written
// (not when the client answers), and reports whether such a connection was
// found.
func (s *Server) CloseConnection(name, reason string) bool {
	s.mu.Lock()
	var found *engine.Conn
	for c := range s.conns {
		in := c.Info()
		if (in.ID == name || in.Name == name) && (in.State == StateRunning || in.State == StateBlocked) {
			found = c
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		return false
	}
	found.RequestClose(amqp.ConnectionForced, "CONNECTION_FORCED - "+reason, ReasonForced)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if st := found.Info().State; st == StateClosed || st == StateTerminated {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
