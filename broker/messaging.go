package broker

import (
	"crypto/subtle"
	"slices"

	"github.com/beatmq/beatmq/broker/vhost"
)

// initMessaging makes one vhost.VHost per configured virtual host; New
// calls it once.
func (s *Server) initMessaging() {
	s.vhosts = make(map[string]*vhost.VHost, len(s.set.vhosts))
	for name := range s.set.vhosts {
		s.vhosts[name] = vhost.New(name, s.vhostOptions())
	}
}

// closeMessaging runs once every connection has ended (Shutdown, Close):
// the vhosts stop their timers and drop their queues, then the store
// closes. Later calls do nothing.
func (s *Server) closeMessaging() {
	s.closeOnce.Do(func() {
		for _, v := range s.vhosts {
			v.Close()
		}
		s.closeData()
	})
}

// VHosts returns the names of the virtual hosts, sorted.
func (s *Server) VHosts() []string {
	names := make([]string, 0, len(s.vhosts))
	for name := range s.vhosts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Queues returns a snapshot of every queue of every virtual host, sorted by
// virtual host, then name.
func (s *Server) Queues() []vhost.QueueInfo {
	var out []vhost.QueueInfo
	for _, name := range s.VHosts() {
		out = append(out, s.vhosts[name].Queues()...)
	}
	return out
}

// Exchanges returns a snapshot of every exchange of every virtual host,
// the default exchange ("") and the amq.* ones included, sorted by virtual
// host, then name.
func (s *Server) Exchanges() []vhost.ExchangeInfo {
	var out []vhost.ExchangeInfo
	for _, name := range s.VHosts() {
		out = append(out, s.vhosts[name].Exchanges()...)
	}
	return out
}

// Bindings returns a snapshot of every binding of every virtual host.
func (s *Server) Bindings() []vhost.BindingInfo {
	var out []vhost.BindingInfo
	for _, name := range s.VHosts() {
		out = append(out, s.vhosts[name].Bindings()...)
	}
	return out
}

// CheckPassword reports whether user may log in with password, as
// connection.start-ok's PLAIN check decides.
func (s *Server) CheckPassword(user, password string) bool {
	want, ok := s.set.conn.Users[user]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
}
