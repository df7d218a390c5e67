package broker

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// The resources whose alarms block publishers, named as RabbitMQ names them
// in {resource_limit, Source, Node} (rabbit_alarm) and in its logs.
const (
	// AlarmMemory is the memory alarm (vm_memory_monitor).
	AlarmMemory = "memory"
	// AlarmDisk is the free disk space alarm (rabbit_disk_monitor).
	AlarmDisk = "disk"
)

// alarmResources are the resources in the order connection.blocked names
// them when several are in effect: RabbitMQ 3.10.8 sent "low on disk &
// memory" with both alarms set (observed; rabbit_reader:blocked_by_message/1
// joins the set's elements with " & ").
var alarmResources = [...]string{AlarmDisk, AlarmMemory}

// alarmSet is the set of resource alarms in effect: a bit per entry of
// alarmResources. Connections read it without a lock on every content frame;
// changes are serialised by mu so that their log lines and the unblocking of
// connections happen in the order the changes were made.
type alarmSet struct {
	mu   sync.Mutex // taken before Server.mu
	bits atomic.Uint32
}

func (a *alarmSet) any() bool { return a.bits.Load() != 0 }

func alarmBit(resource string) (uint32, bool) {
	for i, r := range alarmResources {
		if r == resource {
			return 1 << i, true
		}
	}
	return 0, false
}

// SetAlarm raises (on) or clears the resource alarm of resource, AlarmMemory
// or AlarmDisk, as rabbit_alarm does for {resource_limit, Resource, Node}.
// The alarms are independent: while any is in effect, a connection that
// publishes (a content header or body frame arrives) gets connection.blocked
// if it advertised the connection.blocked capability, with the reason
// naming every alarm then in effect ("low on memory", "low on disk", "low on
// disk & memory"), and is no longer read, with missed-heartbeat detection
// paused. Once the last alarm clears, blocked connections get
// connection.unblocked and are read again. Raising an alarm already raised,
// or clearing one not raised, does nothing; an unknown resource is logged
// and ignored.
func (s *Server) SetAlarm(resource string, on bool) {
	bit, ok := alarmBit(resource)
	if !ok {
		s.set.log.Error(fmt.Sprintf("alarm '%s' ignored: unknown resource", resource))
		return
	}
	a := &s.alarms
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.bits.Load()
	now := old &^ bit
	if on {
		now = old | bit
	}
	if now == old {
		return
	}
	a.bits.Store(now)
	node := erlterm.Atom(s.set.clusterName)
	if on {
		// rabbit_alarm:handle_set_resource_alarm/3.
		s.set.log.Warn(fmt.Sprintf("%s resource limit alarm set on node %s.\n\n"+
			"**********************************************************\n"+
			"*** Publishers will be blocked until this alarm clears ***\n"+
			"**********************************************************", resource, node))
		return
	}
	// rabbit_alarm:handle_clear_resource_alarm/3, then maybe_alert/5: a
	// single node is the whole cluster.
	s.set.log.Warn(fmt.Sprintf("%s resource limit alarm cleared on node %s", resource, node))
	s.set.log.Warn(fmt.Sprintf("%s resource limit alarm cleared across the cluster", resource))
	if now != 0 {
		return // still blocked by the other alarm
	}
	s.mu.Lock()
	conns := s.liveLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.AlarmCleared()
	}
}

// SetBlocked raises or clears the memory alarm: SetAlarm(AlarmMemory, on).
// It is the single switch of earlier versions, kept for their callers.
func (s *Server) SetBlocked(on bool) { s.SetAlarm(AlarmMemory, on) }

// Blocked reports whether any resource alarm is in effect.
func (s *Server) Blocked() bool { return s.alarms.any() }

// Alarms returns the resources whose alarms are in effect, AlarmDisk before
// AlarmMemory; nil when none is.
func (s *Server) Alarms() []string {
	bits := s.alarms.bits.Load()
	if bits == 0 {
		return nil
	}
	out := make([]string, 0, len(alarmResources))
	for i, r := range alarmResources {
		if bits&(1<<i) != 0 {
			out = append(out, r)
		}
	}
	return out
}
