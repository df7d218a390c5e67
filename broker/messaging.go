package broker

import (
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
		for _, v := range s.allVHosts() {
			v.Close()
		}
		s.closeData()
	})
}

// Queues returns a snapshot of every queue of every virtual host, sorted by
// virtual host, then name.
func (s *Server) Queues() []vhost.QueueInfo {
	var out []vhost.QueueInfo
	for _, name := range s.VHosts() {
		if v := s.VHost(name); v != nil {
			out = append(out, v.Queues()...)
		}
	}
	return out
}

// Exchanges returns a snapshot of every exchange of every virtual host,
// the default exchange ("") and the amq.* ones included, sorted by virtual
// host, then name.
func (s *Server) Exchanges() []vhost.ExchangeInfo {
	var out []vhost.ExchangeInfo
	for _, name := range s.VHosts() {
		if v := s.VHost(name); v != nil {
			out = append(out, v.Exchanges()...)
		}
	}
	return out
}

// Bindings returns a snapshot of every binding of every virtual host.
func (s *Server) Bindings() []vhost.BindingInfo {
	var out []vhost.BindingInfo
	for _, name := range s.VHosts() {
		if v := s.VHost(name); v != nil {
			out = append(out, v.Bindings()...)
		}
	}
	return out
}
