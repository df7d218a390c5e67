package broker

import (
	"errors"
	"fmt"
	"slices"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/vhost"
)

// VHost returns the virtual host called name, or nil.
func (s *Server) VHost(name string) *vhost.VHost {
	s.vhMu.RLock()
	defer s.vhMu.RUnlock()
	return s.vhosts[name]
}

// VHosts returns the names of the virtual hosts, sorted.
func (s *Server) VHosts() []string {
	s.vhMu.RLock()
	names := make([]string, 0, len(s.vhosts))
	for name := range s.vhosts {
		names = append(names, name)
	}
	s.vhMu.RUnlock()
	slices.Sort(names)
	return names
}

// allVHosts returns the virtual hosts themselves, in no order.
func (s *Server) allVHosts() []*vhost.VHost {
	s.vhMu.RLock()
	defer s.vhMu.RUnlock()
	out := make([]*vhost.VHost, 0, len(s.vhosts))
	for _, v := range s.vhosts {
		out = append(out, v)
	}
	return out
}

// AddVHost creates the virtual host name (rabbitmqctl add_vhost; the
// management API's PUT /api/vhosts/{name}); ErrVHostExists if there is one.
// No user holds a permission in it yet.
func (s *Server) AddVHost(name string) error {
	if name == "" {
		return errors.New("vhost name must not be empty")
	}
	if s.isDown() {
		return ErrServerClosed
	}
	s.vhMu.Lock()
	if _, ok := s.vhosts[name]; ok {
		s.vhMu.Unlock()
		return ErrVHostExists
	}
	s.vhosts[name] = vhost.New(name, s.vhostOptions())
	s.vhMu.Unlock()
	s.set.log.Info(fmt.Sprintf("Adding vhost '%s' (description: '', tags: <<>>)", name))
	return s.saveDefinitions()
}

// DeleteVHost deletes the virtual host name as rabbit_vhost:delete/2 does:
// its connections are closed with 320 "CONNECTION_FORCED - vhost 'name' is
// deleted", its queues (and their messages) and exchanges are deleted, and
// so are the permissions in it. ErrNoVHost if there is none.
func (s *Server) DeleteVHost(name string) error {
	s.vhMu.Lock()
	v, ok := s.vhosts[name]
	if ok {
		delete(s.vhosts, name)
	}
	s.vhMu.Unlock()
	if !ok {
		return ErrNoVHost
	}
	s.set.log.Info(fmt.Sprintf("Deleting vhost '%s'", name))
	s.users.dropVHostPermissions(name)
	s.closeVHostConns(name)
	v.Delete()
	return s.saveDefinitions()
}

// closeVHostConns closes every connection opened to vhost name
// (rabbit_connection_tracking_handler, vhost_deleted).
func (s *Server) closeVHostConns(name string) {
	s.closeConnsWhere(func(in ConnInfo) bool { return in.VHost == name },
		fmt.Sprintf("Closing all connections in vhost '%s' because it's being deleted", name),
		fmt.Sprintf("vhost '%s' is deleted", name))
}

// closeConnsWhere closes with 320 "CONNECTION_FORCED - " + why every open
// connection for which match is true, logging logLine first if there is
// any.
func (s *Server) closeConnsWhere(match func(ConnInfo) bool, logLine, why string) {
	s.mu.Lock()
	var conns []*engine.Conn
	for c := range s.conns {
		if match(c.Info()) {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	if len(conns) > 0 {
		s.set.log.Info(logLine)
	}
	for _, c := range conns {
		c.RequestClose(amqp.ConnectionForced, "CONNECTION_FORCED - "+why, ReasonForced)
	}
}
