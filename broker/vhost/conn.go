package vhost

import "sync"

// Conn is one client connection: the owner of the exclusive queues declared
// through its sessions.
type Conn struct {
	v      *VHost
	user   string // the authenticated user, checked against user_id
	access Access // the user's permissions; nil: every operation allowed
	// impersonator: the user may publish with any user_id.
	impersonator bool

	mu       sync.Mutex // guards sessions and closed; taken after VHost.connsMu
	sessions map[*Session]struct{}
	closed   bool

	// exclusive holds the queues this connection owns; guarded by VHost.mu.
	exclusive map[*Queue]struct{}
}

// NewSession opens a session (an AMQP channel) on c that delivers through
// sink. On a closed connection the session is born closed; it counts
// nothing in Stats.
func (c *Conn) NewSession(sink Sink) *Session {
	s := newSession(c, sink)
	c.mu.Lock()
	if c.closed {
		s.closed = true
		s.publisher = true // never counted among the publishers
	} else {
		c.sessions[s] = struct{}{}
	}
	c.mu.Unlock()
	return s
}

// Close is the end of the connection, whatever the reason: every session
// still open is closed (its unacknowledged messages go back to their queues,
// marked redelivered, in their original order), then the queues the
// connection declared exclusive are deleted, as RabbitMQ's queue collector
// does. Safe to call more than once.
func (c *Conn) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	sessions := make([]*Session, 0, len(c.sessions))
	for s := range c.sessions {
		sessions = append(sessions, s)
	}
	c.mu.Unlock()
	for _, s := range sessions {
		s.Close() // leaves c.sessions through forget
	}

	v := c.v
	v.mu.Lock()
	var cancels []cancelled
	for q := range c.exclusive {
		if !q.deletedFlag() {
			cancels = v.deleteQueueLocked(q, cancels)
		}
	}
	c.exclusive = nil
	v.mu.Unlock()
	notifyCancelled(cancels)

	// A session still closing on another goroutine leaves its counters
	// to the vhost here, under the locks Stats takes (stats.go).
	v.connsMu.Lock()
	delete(v.conns, c)
	c.mu.Lock()
	for s := range c.sessions {
		s.foldInto(&v.stats.ended)
	}
	c.sessions = nil
	c.mu.Unlock()
	v.connsMu.Unlock()
}

// forget removes a closed session; its counters go to the vhost's, under
// the locks Stats takes, so that Stats sees them in one place or the
// other. Its last call on the session.
func (c *Conn) forget(s *Session) {
	v := c.v
	v.connsMu.Lock()
	c.mu.Lock()
	if _, ok := c.sessions[s]; ok {
		delete(c.sessions, s)
		s.foldInto(&v.stats.ended)
	}
	c.mu.Unlock()
	v.connsMu.Unlock()
}
