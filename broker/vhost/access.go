package vhost

import "github.com/beatmq/beatmq/amqp"

// Perm is one of RabbitMQ's three permissions on a resource.
type Perm uint8

// The permissions, as rabbit_access_control names them.
const (
	// Configure: declare and delete a queue or an exchange.
	Configure Perm = iota + 1
	// Write: publish to an exchange; bind to a queue or an exchange.
	Write
	// Read: consume, get and purge from a queue; bind from an exchange.
	Read
)

// String returns the permission's name, as RabbitMQ writes it.
func (p Perm) String() string {
	switch p {
	case Configure:
		return "configure"
	case Write:
		return "write"
	case Read:
		return "read"
	}
	return "unknown"
}

// Access decides whether a connection's user holds perm on the resource of
// kind ("queue" or "exchange") called name. The default exchange is asked
// for as "amq.default", as rabbit_access_control:check_resource_access/4
// renames it. It is called from any goroutine, sometimes with the vhost's
// lock held: it must be safe for concurrent use and must not call into this
// package.
type Access func(perm Perm, kind, name string) bool

// defaultExchangeAlias is the default exchange's name in permission checks
// and their error texts (rabbit_access_control:check_resource_access/4).
const defaultExchangeAlias = "amq.default"

// accessKey is one positive answer a session keeps.
type accessKey struct {
	perm       Perm
	kind, name string
}

// accessCacheMax bounds the answers a session keeps; rabbit_channel keeps
// its last 12 (?MAX_PERMISSION_CACHE_SIZE), beatmq a few more.
const accessCacheMax = 64

// permit is rabbit_channel:check_resource_access/4: it refuses with 403
// ACCESS_REFUSED "access to queue 'q' in vhost '/' refused for user 'u'"
// unless the connection's user holds perm on the resource. Positive answers
// are kept for the session's life, as rabbit_channel keeps them: a
// permission taken away applies to the channels opened afterwards.
// s.opMu is held.
func (s *Session) permit(perm Perm, kind, name string) error {
	access := s.conn.access
	if access == nil {
		return nil
	}
	name = stripCRLF(name)
	if kind == "exchange" && name == "" {
		name = defaultExchangeAlias
	}
	k := accessKey{perm, kind, name}
	if _, ok := s.allowed[k]; ok {
		return nil
	}
	if !access(perm, kind, name) {
		return amqp.NewError(amqp.AccessRefused, "access to %s refused for user '%s'", s.v.rs(kind, name), s.conn.user)
	}
	if s.allowed == nil || len(s.allowed) >= accessCacheMax {
		s.allowed = make(map[accessKey]struct{})
	}
	s.allowed[k] = struct{}{}
	return nil
}

// permitFunc is Session.permit, passed down to the vhost's operations that
// check a permission in the middle; nil checks nothing (recovery).
type permitFunc func(perm Perm, kind, name string) error

func (f permitFunc) check(perm Perm, kind, name string) error {
	if f == nil {
		return nil
	}
	return f(perm, kind, name)
}
