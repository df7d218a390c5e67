package vhost

import "fmt"

// Objects is what a definitions import declares in one vhost: exchanges,
// then queues, then bindings, in the order given. Unlike Definitions, it
// may hold transient exchanges and queues.
type Objects struct {
	Exchanges []ExchangeSpec
	Queues    []QueueSpec
	Bindings  []BindingDef
}

// DeclareError says which object of an Objects could not be declared:
// Kind is "exchanges", "queues" or "bindings", Index its position there.
type DeclareError struct {
	Kind  string
	Index int
	Err   error
}

func (e *DeclareError) Error() string { return fmt.Sprintf("%s[%d]: %v", e.Kind, e.Index, e.Err) }

func (e *DeclareError) Unwrap() error { return e.Err }

// Declare declares o as clients would (an object already there with the
// same properties is left as it is; one with other properties is an
// error), stopping at the first error, which is a *DeclareError. The
// definitions are saved once at the end when anything durable changed.
//
// The management API's POST /api/definitions and --load-definitions use
// it after checking the whole file on a scratch vhost (Scratch), so that
// an import that fails here is rare and only half-applied when the
// vhost changed in between.
func (v *VHost) Declare(o Objects) error {
	err := v.declareObjects(o)
	if serr := v.saveDefinitions(); err == nil && serr != nil {
		err = serr
	}
	return err
}

func (v *VHost) declareObjects(o Objects) error {
	for i, x := range o.Exchanges {
		x.Passive = false
		if err := v.declareExchange(x, nil); err != nil {
			return &DeclareError{"exchanges", i, err}
		}
	}
	for i, q := range o.Queues {
		q.Passive, q.Exclusive = false, false
		if _, err := v.declareQueue(nil, q, nil); err != nil {
			return &DeclareError{"queues", i, err}
		}
	}
	for i, b := range o.Bindings {
		err := v.bind(bindRequest{src: b.Source, destKind: b.DestinationType, dest: b.Destination, key: b.RoutingKey, args: b.Arguments})
		if err != nil {
			return &DeclareError{"bindings", i, err}
		}
	}
	return nil
}

// Scratch returns an in-memory copy of v's exchanges, queues (without
// their messages) and bindings, on which Declare can be tried without
// touching v. Exclusive queues are left out.
func (v *VHost) Scratch() *VHost {
	s := New(v.name, Options{UnsentLimit: v.opts.UnsentLimit})
	var o Objects
	for _, x := range v.Exchanges() {
		if x.Name == "" || isBuiltinExchange(x.Name) {
			continue
		}
		o.Exchanges = append(o.Exchanges, ExchangeSpec{Name: x.Name, Type: x.Type, Durable: x.Durable, AutoDelete: x.AutoDelete, Internal: x.Internal, Args: x.Arguments})
	}
	for _, q := range v.Queues() {
		if q.Exclusive {
			continue
		}
		o.Queues = append(o.Queues, QueueSpec{Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete, Args: q.Arguments})
	}
	for _, b := range v.Bindings() {
		if b.Source == "" {
			continue
		}
		o.Bindings = append(o.Bindings, BindingDef{Source: b.Source, Destination: b.Destination, DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: b.Arguments})
	}
	// What v holds declares again cleanly; a binding to an exclusive
	// queue left out fails and is of no concern to an import, so each
	// object is declared on its own.
	for _, x := range o.Exchanges {
		_ = s.declareObjects(Objects{Exchanges: []ExchangeSpec{x}})
	}
	for _, q := range o.Queues {
		_ = s.declareObjects(Objects{Queues: []QueueSpec{q}})
	}
	for _, b := range o.Bindings {
		_ = s.declareObjects(Objects{Bindings: []BindingDef{b}})
	}
	return s
}
