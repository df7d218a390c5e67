package vhost

import (
	"strings"

	"github.com/beatmq/beatmq/amqp"
)

// Exchange types.
const (
	KindDirect  = "direct"
	KindFanout  = "fanout"
	KindTopic   = "topic"
	KindHeaders = "headers"
)

// Exchange is one exchange. Every field is guarded by VHost.mu.
type Exchange struct {
	name       string
	kind       string
	durable    bool
	autoDelete bool
	internal   bool
	args       amqp.Table
	isDefault  bool
	deleted    bool

	// alternate is the alternate-exchange argument, when it is a longstr.
	alternate    string
	hasAlternate bool
	// policy is the exchange's policy (policy_apply.go), nil for none.
	policy *policy

	// bindings are those with this exchange as source, by identity.
	bindings map[bindingID]*binding
	// asDest are the exchange-to-exchange bindings with this one as
	// destination.
	asDest map[*binding]struct{}

	// The routing table of the exchange's kind.
	direct  map[string][]*binding
	fanout  []*binding
	topic   *topicNode
	headers []*binding
}

func newExchange(name, kind string, durable, autoDelete, internal bool, args amqp.Table) *Exchange {
	x := &Exchange{
		name:       name,
		kind:       kind,
		durable:    durable,
		autoDelete: autoDelete,
		internal:   internal,
		args:       args,
		isDefault:  name == "",
		bindings:   make(map[bindingID]*binding),
	}
	if v, ok := args.Get("alternate-exchange"); ok {
		if s, ok := v.(string); ok {
			x.alternate, x.hasAlternate = s, true
		}
	}
	switch kind {
	case KindDirect:
		x.direct = make(map[string][]*binding)
	case KindTopic:
		x.topic = &topicNode{}
	}
	return x
}

// ExchangeSpec is an exchange.declare.
type ExchangeSpec struct {
	Name       string
	Type       string
	Passive    bool
	Durable    bool
	AutoDelete bool
	Internal   bool
	Args       amqp.Table
}

// checkType is rabbit_exchange:check_type/1: 503 COMMAND_INVALID, which
// closes the connection. RabbitMQ says "invalid" for a name that happens to
// be an Erlang atom already and "unknown" otherwise; a few atoms every node
// has are listed here, and any other name gets "unknown".
func checkType(t string) error {
	switch t {
	case KindDirect, KindFanout, KindTopic, KindHeaders:
		return nil
	}
	if erlangAtoms[t] {
		return amqp.NewError(amqp.CommandInvalid, "invalid exchange type '%s'", t)
	}
	return amqp.NewError(amqp.CommandInvalid, "unknown exchange type '%s'", t)
}

var erlangAtoms = map[string]bool{
	"true": true, "false": true, "undefined": true, "ok": true, "error": true,
	"none": true, "queue": true, "exchange": true, "binding": true, "all": true, "any": true, "local": true, "stream": true, "quorum": true, "classic": true,
}

// declareExchange is rabbit_channel's exchange.declare handling.
// permit, when not nil, checks the configure permission (see
// Session.permit) where rabbit_channel does.
func (v *VHost) declareExchange(spec ExchangeSpec, permit permitFunc) error {
	name := stripCRLF(spec.Name)
	if spec.Passive {
		if name == "" {
			return defaultExchangeRefused()
		}
		v.mu.RLock()
		x := v.exchanges[name]
		v.mu.RUnlock()
		if x == nil {
			return v.notFound("exchange", name)
		}
		return nil
	}
	if err := checkType(spec.Type); err != nil {
		return err
	}
	if name == "" {
		return defaultExchangeRefused()
	}
	if err := permit.check(Configure, "exchange", name); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return v.notFound("exchange", name)
	}
	x := v.exchanges[name]
	if x == nil {
		if strings.HasPrefix(name, "amq.") {
			return reservedName("exchange", name)
		}
		if a, ok := spec.Args.Get("alternate-exchange"); ok {
			ae, ok := a.(string)
			if !ok {
				return precondition("invalid type '%s' for arg '%s' in %s",
					typeName(a), "alternate-exchange", v.rs("exchange", name))
			}
			// rabbit_channel, exchange.declare of a new exchange: its
			// alternate exchange needs read on the exchange and write on
			// the alternate.
			if err := permit.check(Read, "exchange", name); err != nil {
				return err
			}
			if err := permit.check(Write, "exchange", ae); err != nil {
				return err
			}
		}
		x := newExchange(name, spec.Type, spec.Durable, spec.AutoDelete, spec.Internal, spec.Args)
		x.setAlternate(v.matchPolicy(name, false))
		v.exchanges[name] = x
		if spec.Durable {
			v.topologyChanged()
		}
		return nil
	}
	// rabbit_exchange:assert_equivalence/6.
	if x.kind != spec.Type {
		return v.inequivalent("type", "exchange", name, "'"+spec.Type+"'", "'"+x.kind+"'")
	}
	if x.durable != spec.Durable {
		return v.inequivalent("durable", "exchange", name, formatBool(spec.Durable), formatBool(x.durable))
	}
	if x.autoDelete != spec.AutoDelete {
		return v.inequivalent("auto_delete", "exchange", name, formatBool(spec.AutoDelete), formatBool(x.autoDelete))
	}
	if x.internal != spec.Internal {
		return v.inequivalent("internal", "exchange", name, formatBool(spec.Internal), formatBool(x.internal))
	}
	return v.assertArgs("exchange", name, x.args, spec.Args, exchangeEquivalenceArgs)
}

// exchangeEquivalenceArgs are the arguments rabbit_exchange compares on
// redeclaration.
var exchangeEquivalenceArgs = []string{"alternate-exchange"}

// deleteExchange is rabbit_channel's exchange.delete handling.
// permit is as declareExchange's.
func (v *VHost) deleteExchange(name string, ifUnused bool, permit permitFunc) error {
	name = stripCRLF(name)
	if name == "" {
		return defaultExchangeRefused()
	}
	if strings.HasPrefix(name, "amq.") {
		return amqp.NewError(amqp.AccessRefused, "deletion of system %s not allowed", v.rs("exchange", name))
	}
	if err := permit.check(Configure, "exchange", name); err != nil {
		return err
	}
	v.mu.Lock()
	x := v.exchanges[name]
	if x == nil {
		v.mu.Unlock()
		return nil
	}
	if ifUnused && len(x.bindings) > 0 {
		v.mu.Unlock()
		return precondition("%s in use", v.rs("exchange", name))
	}
	v.deleteExchangeLocked(x)
	v.mu.Unlock()
	return nil
}

// deleteExchangeLocked removes x with its bindings as source and as
// destination; sources left without bindings are auto-deleted. v.mu held.
func (v *VHost) deleteExchangeLocked(x *Exchange) {
	x.deleted = true
	if x.durable {
		v.topologyChanged()
	}
	delete(v.exchanges, x.name)
	for _, b := range x.bindings {
		v.unlinkBinding(b, false)
	}
	for b := range x.asDest {
		v.unlinkBinding(b, true)
	}
}

// maybeAutoDeleteExchange is rabbit_exchange:maybe_auto_delete/2: an
// auto-delete exchange goes with its last binding as source. v.mu held.
func (v *VHost) maybeAutoDeleteExchange(x *Exchange) {
	if x.autoDelete && !x.deleted && len(x.bindings) == 0 {
		v.deleteExchangeLocked(x)
	}
}

// stripCRLF is rabbit_channel:strip_cr_lf/1.
func stripCRLF(s string) string {
	if strings.IndexAny(s, "\r\n") < 0 {
		return s
	}
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}
