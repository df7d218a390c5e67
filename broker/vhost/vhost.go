package vhost

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beatmq/beatmq/broker/vhost/store"
)

// Options configure a VHost. The zero value is ready to use.
type Options struct {
	// Logger receives the events RabbitMQ logs (queue auto-deletion,
	// dead-letter cycles). Nil discards them.
	Logger *slog.Logger
	// UnsentLimit caps, per session, the deliveries handed to Sink.Deliver
	// and not yet reported written through Session.Sent. A session at the
	// limit gets no more consumer deliveries until Sent makes room, so a slow
	// socket holds back its own consumers only (RabbitMQ's unsent message
	// limit). 0 means no limit, and then the broker need not call Sent.
	UnsentLimit int

	// Store keeps persistent messages of durable queues (see durable.go);
	// nil keeps every message in memory only. With a Store, NewQueueID and
	// NewMessageID must be set: they hand out the ids durable queues and
	// stored messages have in it (unique in the store, increasing).
	Store        *store.Store
	NewQueueID   func() uint32
	NewMessageID func() uint64
	// SaveDefinitions, if set, writes the durable topology of the broker
	// (Definitions of every vhost). It is called with no vhost lock held
	// after a durable exchange, queue or binding was created or removed,
	// before the method that changed it returns.
	SaveDefinitions func() error
	// PageDir, if set, is where queues page out the ready messages beyond
	// what they keep in memory (page.go); PrepareDir makes it empty. ""
	// keeps every message in memory.
	PageDir string
}

// VHost is one virtual host: its exchanges, queues and bindings. It is safe
// for concurrent use; see the package documentation for the lock order.
type VHost struct {
	name string
	log  *slog.Logger
	opts Options

	// mu guards the topology: exchanges, queues, every binding and routing
	// table, and the fields of Exchange. Lock order: Session.opMu, mu,
	// Queue.mu, Session.mu.
	mu        sync.RWMutex
	exchanges map[string]*Exchange
	queues    map[string]*Queue
	closed    bool
	// policies by name (policy.go), also guarded by mu.
	policies map[string]*policy

	// start is the origin of the monotonic clock used for expiry.
	start  time.Time
	nextID atomic.Uint64

	defsDirty atomic.Bool // the definitions changed since they were saved
	stopping  atomic.Bool // BeginShutdown was called: nothing auto-deletes

	connsMu sync.Mutex // taken before Conn.mu (Stats, Conn.Close)
	conns   map[*Conn]struct{}

	stats vhostStats // counters (stats.go)

	// cycles are the dead-letter cycles already logged.
	cyclesMu sync.Mutex
	cycles   map[string]bool

	// replies maps the reply names of direct reply-to to their sessions
	// (replyto.go). repliesMu is a leaf, taken under Session.mu or alone.
	repliesMu sync.Mutex
	replies   map[string]*Session
}

// New returns a virtual host called name (the name goes into error texts:
// "no queue 'q' in vhost '/'") with the exchanges every RabbitMQ vhost has:
// the default exchange "", amq.direct, amq.fanout, amq.topic, amq.headers and
// amq.match, all durable.
func New(name string, opts Options) *VHost {
	v := &VHost{
		name:      name,
		log:       opts.Logger,
		opts:      opts,
		exchanges: make(map[string]*Exchange),
		queues:    make(map[string]*Queue),
		start:     time.Now(),
		conns:     make(map[*Conn]struct{}),
	}
	if v.log == nil {
		v.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, d := range []struct{ name, kind string }{
		{"", KindDirect},
		{"amq.direct", KindDirect},
		{"amq.fanout", KindFanout},
		{"amq.topic", KindTopic},
		{"amq.headers", KindHeaders},
		{"amq.match", KindHeaders},
	} {
		v.exchanges[d.name] = newExchange(d.name, d.kind, true, false, false, nil)
	}
	return v
}

// BeginShutdown is called when the broker starts to stop, before its
// connections close: from then on no queue is auto-deleted or expired, so
// that durable auto-delete queues whose consumers go with the broker are
// still there after a restart, as in RabbitMQ.
func (v *VHost) BeginShutdown() { v.stopping.Store(true) }

// Name returns the vhost's name.
func (v *VHost) Name() string { return v.name }

// Close closes every connection still registered (as Conn.Close does),
// then deletes every queue and stops every timer. Later calls on the vhost
// fail as if the queues were gone. Durable queues keep their data: the
// broker is stopping.
func (v *VHost) Close() { v.shut(true) }

// Delete is Close for a vhost that is deleted (rabbit_vhost:delete/2):
// its durable queues' messages are removed from the store too. The caller
// removes the vhost from the definitions.
func (v *VHost) Delete() { v.shut(false) }

// shut closes the connections, then deletes the queues; keep marks the
// vhost closed first, which deleteQueueLocked reads as "keep the durable
// queues' data".
func (v *VHost) shut(keep bool) {
	v.connsMu.Lock()
	conns := make([]*Conn, 0, len(v.conns))
	for c := range v.conns {
		conns = append(conns, c)
	}
	v.connsMu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.closed = keep
	var cancels []cancelled
	for _, q := range v.queues {
		cancels = v.deleteQueueLocked(q, cancels)
	}
	v.closed = true
	v.mu.Unlock()
	notifyCancelled(cancels)
}

// now is the monotonic clock for message and queue expiry, in nanoseconds.
func (v *VHost) now() int64 { return int64(time.Since(v.start)) + 1 }

func (v *VHost) newID() uint64 { return v.nextID.Add(1) }

// Connect registers a new client connection, the owner of the exclusive
// queues it declares, with no user name. Call Conn.Close when the
// connection goes.
func (v *VHost) Connect() *Conn { return v.ConnectAs("") }

// ConnectAs is Connect for a connection authenticated as user: a message
// it publishes with a user_id property must name that user.
func (v *VHost) ConnectAs(user string) *Conn { return v.ConnectWith(user, nil, false) }

// ConnectWith is ConnectAs for a user whose operations access decides, as
// rabbit_channel checks each against the user's permissions: nil allows
// everything. An impersonator (a user with RabbitMQ's impersonator tag) may
// publish with any user_id.
func (v *VHost) ConnectWith(user string, access Access, impersonator bool) *Conn {
	c := &Conn{v: v, user: user, access: access, impersonator: impersonator, sessions: make(map[*Session]struct{})}
	v.connsMu.Lock()
	v.conns[c] = struct{}{}
	v.connsMu.Unlock()
	return c
}

// genName returns prefix + "-" + 22 base64url characters of 16 random
// octets, as rabbit_guid:binary(rabbit_guid:gen_secure(), Prefix) does
// ("amq.gen-...", "amq.ctag-...").
func genName(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + base64.RawURLEncoding.EncodeToString(b[:])
}
