// Package mgmttest provides an in-memory mgmt.Broker for tests of the
// management API and of the tools that talk to it (beatmqctl), like
// net/http/httptest does for HTTP.
package mgmttest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/password"
)

// Close records one CloseConnection call.
type Close struct {
	// Name is the connection's name, Reason the reply text after
	// "CONNECTION_FORCED - ".
	Name, Reason string
}

// Broker is an in-memory mgmt.Broker, safe for concurrent use. Set its
// fields with the setters (or before first use); read what the API did with
// Closes and Watermark.
type Broker struct {
	mu       sync.Mutex
	overview mgmt.Overview
	conns    []mgmt.Connection
	queues   []mgmt.Queue
	xs       []mgmt.Exchange
	mem      mgmt.Memory
	disk     mgmt.Disk
	users    map[string]user
	closes   []Close
	setErr   error
	faults   map[string]mgmt.Fault
	perms    []mgmt.Permission
	policies []mgmt.Policy
	msgs     map[queueKey][]mgmt.Message
	bindings []mgmt.Binding
	channels []mgmt.Channel
}

// user is a broker user of the fake.
type user struct {
	pass string // "" for a user put with a password hash
	hash string
	tags []string
}

// New returns a Broker with node "beatmq@test", the default exchanges of
// vhost "/", 1 GiB of memory with a 0.4 watermark, and the user guest/guest
// tagged administrator.
func New() *Broker {
	b := &Broker{
		overview: mgmt.Overview{ProductVersion: "0.0.0-test", Node: "beatmq@test"},
		mem:      mgmt.Memory{Total: 1 << 30},
		disk:     mgmt.Disk{Monitored: true, Free: 10 << 30, Limit: 50_000_000, Setting: "50000000"},
		users:    map[string]user{"guest": {pass: "guest", hash: password.Hash("guest"), tags: []string{mgmt.TagAdministrator}}},
		perms:    []mgmt.Permission{{User: "guest", Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"}},
	}
	b.setWatermarkLocked(0.4)
	b.addDefaultExchangesLocked("/")
	return b
}

// addDefaultExchangesLocked adds the exchanges every vhost has; b.mu is
// held (or b is not shared yet).
func (b *Broker) addDefaultExchangesLocked(vhost string) {
	for _, x := range []struct{ name, typ string }{
		{"", "direct"}, {"amq.direct", "direct"}, {"amq.fanout", "fanout"},
		{"amq.headers", "headers"}, {"amq.match", "headers"}, {"amq.topic", "topic"},
	} {
		b.xs = append(b.xs, mgmt.Exchange{Name: x.name, Vhost: vhost, Type: x.typ, Durable: true})
	}
}

// SetOverview replaces what Overview returns.
func (b *Broker) SetOverview(o mgmt.Overview) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.overview = o
}

// AddUser adds or replaces a user.
func (b *Broker) AddUser(name, pass string, tags ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users[name] = user{pass: pass, hash: password.Hash(pass), tags: tags}
}

// AddConnection adds an open connection.
func (b *Broker) AddConnection(c mgmt.Connection) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conns = append(b.conns, c)
}

// AddQueue adds a queue.
func (b *Broker) AddQueue(q mgmt.Queue) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queues = append(b.queues, q)
}

// AddExchange adds an exchange.
func (b *Broker) AddExchange(x mgmt.Exchange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.xs = append(b.xs, x)
}

// SetUsedMemory sets the memory in use and raises or clears the alarm.
func (b *Broker) SetUsedMemory(used uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mem.Used = used
	b.mem.Alarm = b.mem.Used > b.mem.Limit
}

// FailSetWatermark makes SetMemoryHighWatermark and SetDiskFreeLimit fail
// with err (nil: succeed).
func (b *Broker) FailSetWatermark(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setErr = err
}

// Closes returns the CloseConnection calls that found their connection, in
// order.
func (b *Broker) Closes() []Close {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.closes)
}

// Overview implements mgmt.Broker.
func (b *Broker) Overview() mgmt.Overview {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.overview
	o.Listeners = slices.Clone(o.Listeners)
	return o
}

// Connections implements mgmt.Broker.
func (b *Broker) Connections() []mgmt.Connection {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.conns)
	for i := range out {
		out[i].ClientProperties = maps.Clone(out[i].ClientProperties)
	}
	return out
}

// CloseConnection implements mgmt.Broker: it removes the connection and
// records the call.
func (b *Broker) CloseConnection(name, reason string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.conns, func(c mgmt.Connection) bool { return c.Name == name })
	if i < 0 {
		return false
	}
	b.conns = slices.Delete(b.conns, i, i+1)
	b.closes = append(b.closes, Close{Name: name, Reason: reason})
	return true
}

// Queues implements mgmt.Broker.
func (b *Broker) Queues() []mgmt.Queue {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.queues)
}

// Exchanges implements mgmt.Broker.
func (b *Broker) Exchanges() []mgmt.Exchange {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.xs)
}

// Memory implements mgmt.Broker.
func (b *Broker) Memory() mgmt.Memory {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mem
}

// SetMemoryHighWatermark implements mgmt.Broker.
func (b *Broker) SetMemoryHighWatermark(fraction float64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.setErr != nil {
		return b.setErr
	}
	if fraction < 0 || fraction > 1 {
		return errors.New("fraction out of range")
	}
	b.setWatermarkLocked(fraction)
	return nil
}

// Disk implements mgmt.Broker.
func (b *Broker) Disk() mgmt.Disk {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.disk
}

// SetDisk replaces what Disk reports.
func (b *Broker) SetDisk(d mgmt.Disk) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.disk = d
}

// SetDiskFreeLimit implements mgmt.Broker: it takes whole bytes only
// ("50000000") and sets the alarm when Free is below the new limit.
func (b *Broker) SetDiskFreeLimit(limit string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.setErr != nil {
		return b.setErr
	}
	n, err := strconv.ParseUint(limit, 10, 64)
	if err != nil {
		return fmt.Errorf("bad disk free limit %q", limit)
	}
	b.disk.Limit, b.disk.Setting, b.disk.Alarm = n, limit, b.disk.Free < n
	return nil
}

// setWatermarkLocked sets the watermark and the alarm; b.mu is held.
func (b *Broker) setWatermarkLocked(fraction float64) {
	b.mem.HighWatermark = fraction
	b.mem.Limit = uint64(fraction * float64(b.mem.Total))
	b.mem.Alarm = b.mem.Used > b.mem.Limit
}

// Authenticate implements mgmt.Broker.
func (b *Broker) Authenticate(name, pass string) ([]string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[name]
	if !ok || u.hash == "" || !password.Check(u.hash, pass) {
		return nil, false
	}
	return slices.Clone(u.tags), true
}

// SetFault implements mgmt.Broker: it checks the kind as the broker does
// (broker.ParseFaultKind), then records the fault on the connection, which
// Connections then shows in Fault.
func (b *Broker) SetFault(name string, f mgmt.Fault) error {
	if _, err := broker.ParseFaultKind(f.Kind); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.conns, func(c mgmt.Connection) bool { return c.Name == name })
	if i < 0 {
		return mgmt.ErrNoConnection
	}
	if b.faults == nil {
		b.faults = map[string]mgmt.Fault{}
	}
	b.faults[name] = f
	b.conns[i].Fault = f.Kind
	return nil
}

// ClearFault implements mgmt.Broker.
func (b *Broker) ClearFault(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.conns, func(c mgmt.Connection) bool { return c.Name == name })
	if i < 0 {
		return mgmt.ErrNoConnection
	}
	delete(b.faults, name)
	b.conns[i].Fault = ""
	return nil
}

// Faults returns the fault in force on each connection, by name.
func (b *Broker) Faults() map[string]mgmt.Fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.faults)
}

var _ mgmt.Broker = (*Broker)(nil)
