package broker

import (
	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/vhost"
)

// host is the Server as its connections see it (engine.Host).
type host struct{ s *Server }

func (h host) Alarm() bool                         { return h.s.alarms.any() }
func (h host) AlarmResources() []string            { return h.s.Alarms() }
func (h host) VHost(name string) *vhost.VHost      { return h.s.VHost(name) }
func (h host) Go(f func())                         { h.s.Go(f) }
func (h host) Ended(c *engine.Conn)                { h.s.forget(c) }
func (h host) Login(user, pw string) bool          { return h.s.CheckPassword(user, pw) }
func (h host) VHostAccess(user, vh string) bool    { return h.s.VHostAccess(user, vh) }
func (h host) Access(user, vh string) vhost.Access { return h.s.access(user, vh) }
func (h host) Impersonator(user string) bool       { return h.s.hasTag(user, TagImpersonator) }
func (h host) UserExists(user string) bool         { return h.s.userExists(user) }
