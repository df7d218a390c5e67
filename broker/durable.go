package broker

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/internal/engine"
	"github.com/beatmq/beatmq/broker/password"
	"github.com/beatmq/beatmq/broker/vhost"
	"github.com/beatmq/beatmq/broker/vhost/store"
)

// The data directory (Config.DataDir) holds:
//
//	msgs/              the message store (broker/vhost/store): segment files, .lock
//	definitions.json   users, permissions, vhosts and their durable exchanges,
//	                   queues and bindings, replaced atomically
//	clean-shutdown     present while no broker runs on it after a clean stop
//	paging/            queues' page files (scratch: emptied at every start)
//
// A second broker on the same directory is refused by the store's lock.

// definitionsFile is the name of the definitions file in the data directory.
const definitionsFile = "definitions.json"

// cleanFile marks a data directory whose broker stopped cleanly: its store
// was closed, every delivery mark written. Without it (a crash, kill -9)
// every recovered message comes back redelivered, since a delivery mark
// written after the last sync may be lost with the crash: the flag then
// says "may have been delivered before", as AMQP allows.
const cleanFile = "clean-shutdown"

// pagingDir is where queues page out the messages they do not keep in
// memory (vhost.Options.PageDir).
const pagingDir = "paging"

// SyncMode says when a persistent message counts as durable, for its
// publisher confirm (see Config.Sync).
type SyncMode = store.SyncMode

// The sync modes.
const (
	// SyncData confirms once fdatasync has returned for the write that holds
	// the message: it survives a power cut. RabbitMQ 3.10's behaviour.
	SyncData = store.SyncData
	// SyncWrite confirms once write(2) has returned: the message survives a
	// killed broker, not a power cut or a kernel crash.
	SyncWrite = store.SyncWrite
)

// ParseSyncMode parses "data" or "write" (the --sync flag).
func ParseSyncMode(s string) (SyncMode, error) {
	for _, m := range []SyncMode{SyncData, SyncWrite} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("sync mode %q: want data or write", s)
}

// definitions is the definitions file: beatmq's own layout, with field
// tables kept as AMQP encodes them so that argument types survive.
//
// Users and permissions are written as RabbitMQ's definitions write them
// (password_hash, hashing_algorithm, tags; configure, write, read), so
// that they can be moved between the two. Users is nil in a file written
// before beatmq kept users: Config.Users then seed it.
type definitions struct {
	Format      int                `json:"beatmq_definitions"`
	Users       *[]userJSON        `json:"users,omitempty"`
	Permissions []permissionJSON   `json:"permissions,omitempty"`
	VHosts      []vhostDefinitions `json:"vhosts"`
}

type userJSON struct {
	Name             string   `json:"name"`
	PasswordHash     string   `json:"password_hash"`
	HashingAlgorithm string   `json:"hashing_algorithm"`
	Tags             []string `json:"tags"`
}

type permissionJSON struct {
	User      string `json:"user"`
	VHost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

type vhostDefinitions struct {
	Name      string         `json:"name"`
	Exchanges []exchangeJSON `json:"exchanges,omitempty"`
	Queues    []queueJSON    `json:"queues,omitempty"`
	Bindings  []bindingJSON  `json:"bindings,omitempty"`
	Policies  []policyJSON   `json:"policies,omitempty"`
}

// policyJSON is a policy as RabbitMQ's definitions write it, less the
// vhost (the enclosing one).
type policyJSON struct {
	Name       string          `json:"name"`
	Pattern    string          `json:"pattern"`
	ApplyTo    string          `json:"apply-to"`
	Definition json.RawMessage `json:"definition"`
	Priority   int             `json:"priority"`
}

type exchangeJSON struct {
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	AutoDelete bool      `json:"auto_delete,omitempty"`
	Internal   bool      `json:"internal,omitempty"`
	Arguments  tableJSON `json:"arguments,omitempty"`
}

type queueJSON struct {
	Name       string    `json:"name"`
	StoreID    uint32    `json:"store_id"`
	AutoDelete bool      `json:"auto_delete,omitempty"`
	Arguments  tableJSON `json:"arguments,omitempty"`
}

type bindingJSON struct {
	Source          string    `json:"source"`
	Destination     string    `json:"destination"`
	DestinationType string    `json:"destination_type"`
	RoutingKey      string    `json:"routing_key"`
	Arguments       tableJSON `json:"arguments,omitempty"`
}

// tableJSON is a field table in the definitions file: its AMQP encoding in
// base64, so that a redeclaration after a restart compares the same types.
type tableJSON string

func encodeTable(t amqp.Table) tableJSON {
	if len(t) == 0 {
		return ""
	}
	return tableJSON(base64.StdEncoding.EncodeToString(amqp.AppendTable(nil, t)))
}

func (t tableJSON) decode() (amqp.Table, error) {
	if t == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(string(t))
	if err != nil {
		return nil, err
	}
	return amqp.DecodeTable(b)
}

// openData opens the data directory: the store (which takes its lock) and
// the definitions. New calls it when Config.DataDir is set, before it makes
// the vhosts, then restoreData.
func (s *Server) openData() (*store.Recovered, definitions, error) {
	dir := s.cfg.DataDir
	if err := checkDataDir(dir); err != nil {
		return nil, definitions{}, err
	}
	abs, _ := filepath.Abs(dir)
	s.set.log.Info("data directory: " + abs)
	st, rec, err := store.Open(filepath.Join(dir, "msgs"), store.Options{Sync: s.cfg.Sync, Logger: s.set.log, BeforeBatch: s.cfg.beforeStoreBatch})
	if errors.Is(err, store.ErrLocked) {
		return nil, definitions{}, fmt.Errorf("data directory %s is in use by another beatmq (it holds %s)", dir, filepath.Join(dir, "msgs", ".lock"))
	}
	if err != nil {
		return nil, definitions{}, fmt.Errorf("data directory %s: %w", dir, err)
	}
	defs, err := readDefinitions(dir)
	if err != nil {
		_ = st.Close()
		return nil, definitions{}, err
	}
	s.store = st
	if err := vhost.PrepareDir(filepath.Join(dir, pagingDir)); err != nil {
		_ = st.Close()
		return nil, definitions{}, fmt.Errorf("data directory %s: %w", dir, err)
	}
	// The mark goes before anything else happens, so that a crash from
	// now on is seen as one.
	s.cleanStart, err = takeCleanMark(dir)
	if err != nil {
		_ = st.Close()
		return nil, definitions{}, err
	}
	if !s.cleanStart && rec.Messages > 0 {
		s.set.log.Warn(fmt.Sprintf("data directory %s: the last broker on it did not stop cleanly; the %d recovered messages are marked redelivered", dir, rec.Messages))
	}
	return rec, defs, nil
}

// takeCleanMark reports whether the clean-shutdown mark is there and
// removes it durably.
func takeCleanMark(dir string) (bool, error) {
	err := os.Remove(filepath.Join(dir, cleanFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("data directory %s: %w", dir, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("data directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return false, fmt.Errorf("data directory %s: %w", dir, err)
	}
	return true, nil
}

// restoreData brings back every vhost's durable topology and messages,
// then drops from the store the messages no durable queue claims.
func (s *Server) restoreData(rec *store.Recovered, defs definitions) error {
	dir, st := s.cfg.DataDir, s.store

	// Ids go on from the highest on disk.
	var maxMsg uint64
	for id, rq := range rec.Queues {
		s.queueIDs.Store(max(s.queueIDs.Load(), id))
		maxMsg = max(maxMsg, rq.LastID)
	}
	s.msgIDs.Store(maxMsg)
	for _, vd := range defs.VHosts {
		for _, q := range vd.Queues {
			s.queueIDs.Store(max(s.queueIDs.Load(), q.StoreID))
		}
	}

	if defs.Users != nil {
		// The vhosts are the file's, not the configured ones.
		kept := map[string]bool{}
		for _, vd := range defs.VHosts {
			kept[vd.Name] = true
		}
		for name := range s.vhosts {
			if !kept[name] {
				delete(s.vhosts, name)
			}
		}
	}
	known := map[uint32]bool{}
	for _, vd := range defs.VHosts {
		d, err := vd.decode()
		if err != nil {
			return fmt.Errorf("data directory %s: %s: vhost '%s': %w", dir, definitionsFile, vd.Name, err)
		}
		v := s.vhosts[vd.Name]
		if v == nil {
			// A vhost configured before is still there, with its data.
			v = vhost.New(vd.Name, s.vhostOptions())
			s.vhosts[vd.Name] = v
		}
		for _, p := range vd.Policies {
			def, err := vhost.DecodeDefinition(p.Definition)
			if err == nil {
				_, err = v.SetPolicy(vhost.Policy{Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Priority: p.Priority, Definition: def})
			}
			if err != nil {
				return fmt.Errorf("data directory %s: %s: vhost '%s': policy '%s': %w", dir, definitionsFile, vd.Name, p.Name, err)
			}
		}
		start := time.Now()
		r := v.Restore(d, rec.Queues, !s.cleanStart)
		if r.Err != nil {
			return fmt.Errorf("data directory %s: vhost '%s': %w", dir, vd.Name, r.Err)
		}
		for _, q := range d.Queues {
			known[q.StoreID] = true
		}
		s.set.log.Info(fmt.Sprintf("vhost '%s': recovered %d exchanges, %d queues, %d bindings, %d messages in %v",
			vd.Name, r.Exchanges, r.Queues, r.Bindings, r.Messages, time.Since(start).Round(time.Microsecond)))
	}
	if err := s.restoreUsers(defs); err != nil {
		return fmt.Errorf("data directory %s: %s: %w", dir, definitionsFile, err)
	}
	for id, rq := range rec.Queues {
		if !known[id] {
			s.set.log.Warn(fmt.Sprintf("message store: dropping %d messages of queue id %d, which no durable queue has", rq.Len, id))
			_ = st.DeleteQueue(id)
		}
	}
	return s.saveDefinitions()
}

// checkDataDir refuses a directory that holds something other than
// beatmq's data, rather than writing into it.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	for _, e := range ents {
		switch e.Name() {
		case "msgs", definitionsFile, cleanFile, pagingDir:
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			continue // a replacement a crash interrupted (store.WriteFileAtomic)
		}
		return fmt.Errorf("data directory %s holds %q, which is not beatmq's: choose an empty or new directory", dir, e.Name())
	}
	return nil
}

// readDefinitions reads the definitions file; a missing one is empty.
func readDefinitions(dir string) (definitions, error) {
	var d definitions
	b, err := store.ReadFile(dir, definitionsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("data directory %s: %s: %w", dir, definitionsFile, err)
	}
	if d.Format != 1 {
		return d, fmt.Errorf("data directory %s: %s: unknown format %d", dir, definitionsFile, d.Format)
	}
	return d, nil
}

func (vd vhostDefinitions) decode() (vhost.Definitions, error) {
	var d vhost.Definitions
	for _, x := range vd.Exchanges {
		args, err := x.Arguments.decode()
		if err != nil {
			return d, fmt.Errorf("exchange '%s': %w", x.Name, err)
		}
		d.Exchanges = append(d.Exchanges, vhost.ExchangeDef{Name: x.Name, Type: x.Type, AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: args})
	}
	for _, q := range vd.Queues {
		args, err := q.Arguments.decode()
		if err != nil {
			return d, fmt.Errorf("queue '%s': %w", q.Name, err)
		}
		d.Queues = append(d.Queues, vhost.QueueDef{Name: q.Name, StoreID: q.StoreID, AutoDelete: q.AutoDelete, Arguments: args})
	}
	for _, b := range vd.Bindings {
		args, err := b.Arguments.decode()
		if err != nil {
			return d, fmt.Errorf("binding of '%s' to '%s': %w", b.Source, b.Destination, err)
		}
		d.Bindings = append(d.Bindings, vhost.BindingDef{Source: b.Source, Destination: b.Destination,
			DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: args})
	}
	return d, nil
}

// saveDefinitions writes every vhost's durable topology to the definitions
// file, replacing it atomically. The vhosts call it after a change.
func (s *Server) saveDefinitions() error {
	if s.cfg.DataDir == "" {
		return nil
	}
	s.defsMu.Lock()
	defer s.defsMu.Unlock()
	d := definitions{Format: 1, Users: &[]userJSON{}}
	for _, u := range s.Users() {
		*d.Users = append(*d.Users, userJSON{Name: u.Name, PasswordHash: u.PasswordHash, HashingAlgorithm: password.Algorithm, Tags: u.Tags})
	}
	for _, p := range s.Permissions() {
		d.Permissions = append(d.Permissions, permissionJSON(p))
	}
	for _, name := range s.VHosts() {
		v := s.VHost(name)
		if v == nil {
			continue // deleted meanwhile
		}
		vd := v.Definitions()
		out := vhostDefinitions{Name: name}
		for _, x := range vd.Exchanges {
			out.Exchanges = append(out.Exchanges, exchangeJSON{Name: x.Name, Type: x.Type, AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: encodeTable(x.Arguments)})
		}
		for _, q := range vd.Queues {
			out.Queues = append(out.Queues, queueJSON{Name: q.Name, StoreID: q.StoreID, AutoDelete: q.AutoDelete, Arguments: encodeTable(q.Arguments)})
		}
		for _, b := range vd.Bindings {
			out.Bindings = append(out.Bindings, bindingJSON{Source: b.Source, Destination: b.Destination,
				DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: encodeTable(b.Arguments)})
		}
		for _, p := range v.Policies() {
			def, err := json.Marshal(p.Definition)
			if err != nil {
				return err
			}
			out.Policies = append(out.Policies, policyJSON{Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Definition: def, Priority: p.Priority})
		}
		d.VHosts = append(d.VHosts, out)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(s.cfg.DataDir, definitionsFile, append(b, '\n'))
}

// closeData closes the store once every vhost has closed.
func (s *Server) closeData() {
	if s.store == nil {
		return
	}
	if err := s.store.Close(); err != nil {
		s.set.log.Error(fmt.Sprintf("message store: close: %v", err))
		return
	}
	if err := store.WriteFileAtomic(s.cfg.DataDir, cleanFile, nil); err != nil {
		s.set.log.Error(fmt.Sprintf("data directory %s: %v", s.cfg.DataDir, err))
	}
}

// vhostOptions are the options of every vhost of s.
func (s *Server) vhostOptions() vhost.Options {
	o := vhost.Options{Logger: s.set.log, UnsentLimit: engine.UnsentLimit}
	if s.cfg.DataDir != "" {
		o.Store = s.store
		o.NewQueueID = func() uint32 { return s.queueIDs.Add(1) }
		o.NewMessageID = func() uint64 { return s.msgIDs.Add(1) }
		o.SaveDefinitions = s.saveDefinitions
		o.PageDir = filepath.Join(s.cfg.DataDir, pagingDir)
	}
	return o
}

// restoreUsers loads the users and permissions of defs, or seeds them from
// Config.Users when defs has none.
func (s *Server) restoreUsers(defs definitions) error {
	if defs.Users == nil {
		return s.seedUsers()
	}
	db := s.users
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, u := range *defs.Users {
		if err := password.CheckAlgorithm(u.HashingAlgorithm); err != nil {
			return fmt.Errorf("user '%s': %w", u.Name, err)
		}
		if err := password.Validate(u.PasswordHash); err != nil {
			return fmt.Errorf("user '%s': %w", u.Name, err)
		}
		db.users[u.Name] = &UserInfo{Name: u.Name, PasswordHash: u.PasswordHash, Tags: normTags(u.Tags)}
	}
	for _, p := range defs.Permissions {
		c, err := compilePermission(Permission(p))
		if err != nil {
			return fmt.Errorf("permissions of user '%s' in vhost '%s': %w", p.User, p.VHost, err)
		}
		db.perms[permKey{p.User, p.VHost}] = c
	}
	return nil
}
