package broker

import (
	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/vhost"
)

// host is the Server as its connections see it (engine.Host).
type host struct{ s *Server }

func (h host) Alarm() bool                    { return h.s.alarms.any() }
func (h host) AlarmResources() []string       { return h.s.Alarms() }
func (h host) VHost(name string) *vhost.VHost { return h.s.vhosts[name] }
func (h host) Go(f func())                    { h.s.Go(f) }
func (h host) Ended(c *engine.Conn)           { h.s.forget(c) }
