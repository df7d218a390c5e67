package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/beatmq/beatmq/broker/password"
	"github.com/beatmq/beatmq/broker/vhost"
)

// DefinitionsError is a definitions file ImportDefinitions refuses: the
// first problem found, and where ("bindings[3]: ...").
type DefinitionsError struct{ Msg string }

func (e *DefinitionsError) Error() string { return e.Msg }

func badDefs(format string, args ...any) error {
	return &DefinitionsError{Msg: fmt.Sprintf(format, args...)}
}

// ignoredGlobalParams are the global parameters every RabbitMQ node
// exports and beatmq has no use for; an import skips them. Any other
// global parameter is refused.
var ignoredGlobalParams = map[string]bool{"cluster_name": true, "internal_cluster_id": true}

// ImportDefinitions applies a definitions document in RabbitMQ 3.10's JSON
// format (POST /api/definitions, rabbitmqctl import_definitions,
// --load-definitions): it creates or updates the users (password hashes
// and tags), creates the vhosts that are missing, sets the permissions,
// and declares the exchanges, queues and bindings. Nothing is deleted, and
// what is there already is left as it is when it is declared the same.
//
// The whole document is checked first, and refused with a
// *DefinitionsError naming the first problem and where: bad JSON (with
// line and column), a missing or duplicate name, an unknown vhost or user,
// a binding to an exchange or queue neither the document nor the broker
// has, an unknown hashing_algorithm, an invalid permission regex, an
// argument or property the vhost refuses, and anything beatmq does not
// have: parameters, topic permissions, global parameters other
// than cluster_name and internal_cluster_id. A refused document changes
// nothing.
//
// With vh set the document is one vhost's (POST /api/definitions/{vhost}):
// its objects go to vh whatever their vhost field says, and users, vhosts
// and permissions are ignored, as RabbitMQ does; ErrNoVHost when there is
// no such vhost.
func (s *Server) ImportDefinitions(data []byte, vh string) error {
	if vh != "" && s.VHost(vh) == nil {
		return ErrNoVHost
	}
	d, err := parseDefs(data)
	if err != nil {
		return err
	}
	// One import at a time, so that none changes what another checked.
	s.importMu.Lock()
	defer s.importMu.Unlock()
	if vh != "" {
		d.Users, d.VHosts, d.Permissions = nil, nil, nil
		for i := range d.Queues {
			d.Queues[i].VHost = vh
		}
		for i := range d.Exchanges {
			d.Exchanges[i].VHost = vh
		}
		d.policyVHost = vh
		for i := range d.Bindings {
			d.Bindings[i].VHost = vh
		}
	}
	p, err := s.planImport(d)
	if err != nil {
		return err
	}
	return s.applyImport(p)
}

// importPlan is a checked document, ready to apply.
type importPlan struct {
	users  []UserInfo
	vhosts []string // to create
	perms  []Permission
	objs   map[string]*vhostImport
	order  []string // vhosts of objs, in order of first mention
	// policies are set last, once the objects they apply to exist.
	policies []Policy
}

// vhostImport is what goes into one vhost, with each object's index in the
// document, for the messages.
type vhostImport struct {
	objs             vhost.Objects
	xIdx, qIdx, bIdx []int
}

func (p *importPlan) vhost(name string) *vhostImport {
	vi := p.objs[name]
	if vi == nil {
		vi = &vhostImport{}
		p.objs[name] = vi
		p.order = append(p.order, name)
	}
	return vi
}

// planImport checks d against itself and the broker.
func (s *Server) planImport(d defsDoc) (*importPlan, error) {
	p := &importPlan{objs: map[string]*vhostImport{}}
	if err := checkUnsupported(d); err != nil {
		return nil, err
	}

	users := map[string]bool{}
	for i, u := range d.Users {
		at := fmt.Sprintf("users[%d]", i)
		if u.Name == "" {
			return nil, badDefs("%s: user name is missing", at)
		}
		if users[u.Name] {
			return nil, badDefs("%s: user '%s' appears twice", at, u.Name)
		}
		users[u.Name] = true
		if l, _ := json.Marshal(u.Limits); !noLimits(l) {
			return nil, badDefs("%s: user '%s': beatmq has no user limits (%s)", at, u.Name, l)
		}
		if err := password.CheckAlgorithm(u.HashingAlgorithm); err != nil {
			return nil, badDefs("%s: user '%s': %v", at, u.Name, err)
		}
		h := u.PasswordHash
		if h == "" && u.Password != nil && *u.Password != "" {
			h = password.Hash(*u.Password)
		}
		if err := password.Validate(h); err != nil {
			return nil, badDefs("%s: user '%s': %v", at, u.Name, err)
		}
		p.users = append(p.users, UserInfo{Name: u.Name, PasswordHash: h, Tags: normTags(u.Tags)})
	}

	vhosts := map[string]bool{}
	for i, v := range d.VHosts {
		at := fmt.Sprintf("vhosts[%d]", i)
		if v.Name == "" {
			return nil, badDefs("%s: vhost name is missing", at)
		}
		if vhosts[v.Name] {
			return nil, badDefs("%s: vhost '%s' appears twice", at, v.Name)
		}
		vhosts[v.Name] = true
		if !noLimits(v.Limits) {
			return nil, badDefs("%s: vhost '%s': beatmq has no vhost limits (%s)", at, v.Name, v.Limits)
		}
		if s.VHost(v.Name) == nil {
			p.vhosts = append(p.vhosts, v.Name)
		}
	}
	vhostKnown := func(at, name string) error {
		if name == "" {
			return badDefs("%s: vhost is missing", at)
		}
		if !vhosts[name] && s.VHost(name) == nil {
			return badDefs("%s: vhost '%s' does not exist", at, name)
		}
		return nil
	}

	perms := map[permKey]bool{}
	for i, pm := range d.Permissions {
		at := fmt.Sprintf("permissions[%d]", i)
		if err := vhostKnown(at, pm.VHost); err != nil {
			return nil, err
		}
		if _, ok := s.LookupUser(pm.User); !ok && !users[pm.User] {
			return nil, badDefs("%s: user '%s' does not exist", at, pm.User)
		}
		k := permKey{pm.User, pm.VHost}
		if perms[k] {
			return nil, badDefs("%s: permissions of user '%s' in vhost '%s' appear twice", at, pm.User, pm.VHost)
		}
		perms[k] = true
		if _, err := compilePermission(Permission(pm)); err != nil {
			return nil, badDefs("%s: permissions of user '%s' in vhost '%s': %v", at, pm.User, pm.VHost, err)
		}
		p.perms = append(p.perms, Permission(pm))
	}

	pols, err := planPolicies(d.Policies, d.policyVHost, vhostKnown)
	if err != nil {
		return nil, err
	}
	p.policies = pols

	type objKey struct{ vhost, name string }
	exchanges, queues := map[objKey]bool{}, map[objKey]bool{}
	for i, x := range d.Exchanges {
		at := fmt.Sprintf("exchanges[%d]", i)
		if err := vhostKnown(at, x.VHost); err != nil {
			return nil, err
		}
		if x.Name == "" || strings.HasPrefix(x.Name, "amq.") {
			return nil, badDefs("%s: exchange name '%s' in vhost '%s' is reserved", at, x.Name, x.VHost)
		}
		k := objKey{x.VHost, x.Name}
		if exchanges[k] {
			return nil, badDefs("%s: exchange '%s' in vhost '%s' appears twice", at, x.Name, x.VHost)
		}
		exchanges[k] = true
		args, err := tableFromJSON(x.Arguments)
		if err != nil {
			return nil, badDefs("%s: exchange '%s' in vhost '%s': %v", at, x.Name, x.VHost, err)
		}
		vi := p.vhost(x.VHost)
		vi.objs.Exchanges = append(vi.objs.Exchanges, vhost.ExchangeSpec{Name: x.Name, Type: x.Type, Durable: x.Durable, AutoDelete: x.AutoDelete, Internal: x.Internal, Args: args})
		vi.xIdx = append(vi.xIdx, i)
	}
	for i, q := range d.Queues {
		at := fmt.Sprintf("queues[%d]", i)
		if err := vhostKnown(at, q.VHost); err != nil {
			return nil, err
		}
		if q.Name == "" {
			return nil, badDefs("%s: queue name is missing", at)
		}
		k := objKey{q.VHost, q.Name}
		if queues[k] {
			return nil, badDefs("%s: queue '%s' in vhost '%s' appears twice", at, q.Name, q.VHost)
		}
		queues[k] = true
		args, err := tableFromJSON(q.Arguments)
		if err != nil {
			return nil, badDefs("%s: queue '%s' in vhost '%s': %v", at, q.Name, q.VHost, err)
		}
		vi := p.vhost(q.VHost)
		vi.objs.Queues = append(vi.objs.Queues, vhost.QueueSpec{Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete, Args: args})
		vi.qIdx = append(vi.qIdx, i)
	}
	exchangeExists := func(vh, name string) bool {
		if exchanges[objKey{vh, name}] {
			return true
		}
		if v := s.VHost(vh); v != nil {
			_, ok := v.Exchange(name)
			return ok
		}
		// A vhost the import creates has the amq.* exchanges.
		return slices.Contains([]string{"amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"}, name)
	}
	queueExists := func(vh, name string) bool {
		if queues[objKey{vh, name}] {
			return true
		}
		if v := s.VHost(vh); v != nil {
			_, ok := v.Queue(name)
			return ok
		}
		return false
	}
	for i, b := range d.Bindings {
		at := fmt.Sprintf("bindings[%d]", i)
		if err := vhostKnown(at, b.VHost); err != nil {
			return nil, err
		}
		if b.Source == "" {
			return nil, badDefs("%s: bindings of the default exchange cannot be declared", at)
		}
		if !exchangeExists(b.VHost, b.Source) {
			return nil, badDefs("%s: source exchange '%s' in vhost '%s' does not exist", at, b.Source, b.VHost)
		}
		switch b.DestinationType {
		case "queue":
			if !queueExists(b.VHost, b.Destination) {
				return nil, badDefs("%s: destination queue '%s' in vhost '%s' does not exist", at, b.Destination, b.VHost)
			}
		case "exchange":
			if !exchangeExists(b.VHost, b.Destination) {
				return nil, badDefs("%s: destination exchange '%s' in vhost '%s' does not exist", at, b.Destination, b.VHost)
			}
		default:
			return nil, badDefs("%s: destination_type '%s': want queue or exchange", at, b.DestinationType)
		}
		args, err := tableFromJSON(b.Arguments)
		if err != nil {
			return nil, badDefs("%s: binding of '%s' to '%s' in vhost '%s': %v", at, b.Source, b.Destination, b.VHost, err)
		}
		vi := p.vhost(b.VHost)
		vi.objs.Bindings = append(vi.objs.Bindings, vhost.BindingDef{Source: b.Source, Destination: b.Destination, DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: args})
		vi.bIdx = append(vi.bIdx, i)
	}

	// Declare everything on scratch copies: what the vhosts would refuse
	// (an unknown exchange type, a bad argument, an object there already
	// with other properties) is found before anything changes.
	for _, name := range p.order {
		vi := p.objs[name]
		var scratch *vhost.VHost
		if v := s.VHost(name); v != nil {
			scratch = v.Scratch()
		} else {
			scratch = vhost.New(name, vhost.Options{})
		}
		err := scratch.Declare(vi.objs)
		scratch.Delete()
		if err != nil {
			return nil, vi.explain(name, err)
		}
	}
	return p, nil
}

// explain turns a vhost's DeclareError into the document's position.
func (vi *vhostImport) explain(vh string, err error) error {
	var de *vhost.DeclareError
	if !errors.As(err, &de) {
		return badDefs("vhost '%s': %v", vh, err)
	}
	switch de.Kind {
	case "exchanges":
		return badDefs("exchanges[%d]: exchange '%s' in vhost '%s': %v", vi.xIdx[de.Index], vi.objs.Exchanges[de.Index].Name, vh, de.Err)
	case "queues":
		return badDefs("queues[%d]: queue '%s' in vhost '%s': %v", vi.qIdx[de.Index], vi.objs.Queues[de.Index].Name, vh, de.Err)
	}
	b := vi.objs.Bindings[de.Index]
	return badDefs("bindings[%d]: binding of '%s' to '%s' in vhost '%s': %v", vi.bIdx[de.Index], b.Source, b.Destination, vh, de.Err)
}

// checkUnsupported refuses what beatmq does not have, rather than drop it.
func checkUnsupported(d defsDoc) error {
	if len(d.Parameters) > 0 {
		return badDefs("parameters: beatmq has no runtime parameters (shovels, federation, vhost limits...); %d in the document; remove them to import the rest", len(d.Parameters))
	}
	if len(d.TopicPermissions) > 0 {
		return badDefs("topic_permissions: beatmq has no topic permissions; %d in the document; remove them to import the rest", len(d.TopicPermissions))
	}
	for i, g := range d.GlobalParameters {
		if !ignoredGlobalParams[g.Name] {
			return badDefs("global_parameters[%d]: beatmq has no global parameter '%s' (only cluster_name and internal_cluster_id are accepted, and ignored)", i, g.Name)
		}
	}
	return nil
}

// applyImport applies a checked plan, and saves the definitions once.
func (s *Server) applyImport(p *importPlan) error {
	db := s.users
	db.mu.Lock()
	for _, u := range p.users {
		if _, ok := db.users[u.Name]; !ok {
			s.set.log.Info(fmt.Sprintf("Created user '%s'", u.Name))
		}
		db.users[u.Name] = &UserInfo{Name: u.Name, PasswordHash: u.PasswordHash, Tags: u.Tags}
	}
	db.mu.Unlock()
	for _, name := range p.vhosts {
		if err := s.AddVHost(name); err != nil && !errors.Is(err, ErrVHostExists) {
			return fmt.Errorf("vhost '%s': %w", name, err)
		}
	}
	for _, pm := range p.perms {
		if err := s.SetPermissions(pm); err != nil {
			return fmt.Errorf("permissions of user '%s' in vhost '%s': %w", pm.User, pm.VHost, err)
		}
	}
	for _, name := range p.order {
		v := s.VHost(name)
		if v == nil {
			return fmt.Errorf("vhost '%s' was deleted during the import", name)
		}
		if err := v.Declare(p.objs[name].objs); err != nil {
			return p.objs[name].explain(name, err)
		}
	}
	for _, pol := range p.policies {
		if err := s.SetPolicy(pol); err != nil {
			return fmt.Errorf("policy '%s' in vhost '%s': %w", pol.Name, pol.VHost, err)
		}
	}
	return s.saveDefinitions()
}
