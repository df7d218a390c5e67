package broker

import (
	"errors"
	"slices"
	"strings"

	"github.com/beatmq/beatmq/broker/vhost"
)

// Policy is a vhost policy (rabbitmqctl set_policy, PUT
// /api/policies/{vhost}/{name}): the keys of Definition apply to the queues
// and exchanges of VHost whose names Pattern matches, when ApplyTo
// ("queues", "exchanges" or "all"; "" is "all") fits and no other matching
// policy has a higher Priority. Definition values are JSON's, integers as
// int64 (vhost.JSONValue converts what encoding/json decodes).
type Policy struct {
	VHost, Name, Pattern, ApplyTo string
	Priority                      int
	Definition                    map[string]any
}

// ErrNoPolicy is ClearPolicy's answer for a policy that is not there.
var ErrNoPolicy = errors.New("Parameter does not exist")

// SetPolicy adds or replaces a policy and applies it at once to the
// vhost's queues and exchanges; ErrNoVHost, or a *vhost.PolicyError with
// RabbitMQ's validation text.
func (s *Server) SetPolicy(p Policy) error {
	_, err := s.PutPolicy(p)
	return err
}

// PutPolicy is SetPolicy that also tells whether the policy is new (the
// management API answers 201 or 204).
func (s *Server) PutPolicy(p Policy) (created bool, err error) {
	if p.ApplyTo == "" {
		p.ApplyTo = vhost.ApplyToAll
	}
	vp := vhost.Policy{Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Priority: p.Priority, Definition: p.Definition}
	if err := vhost.ValidatePolicy(vp); err != nil {
		return false, err
	}
	v := s.VHost(p.VHost)
	if v == nil {
		return false, ErrNoVHost
	}
	created, err = v.SetPolicy(vp)
	if err != nil {
		return false, err
	}
	return created, s.saveDefinitions()
}

// ClearPolicy removes a policy; ErrNoVHost or ErrNoPolicy when either is
// not there. Its queues and exchanges take the next matching policy, or
// none, at once.
func (s *Server) ClearPolicy(vh, name string) error {
	v := s.VHost(vh)
	if v == nil {
		return ErrNoVHost
	}
	if !v.ClearPolicy(name) {
		return ErrNoPolicy
	}
	return s.saveDefinitions()
}

// Policies returns the policies of vhost vh, or of every vhost when vh is
// "", sorted by vhost then name.
func (s *Server) Policies(vh string) []Policy {
	var out []Policy
	for _, name := range s.VHosts() {
		if vh != "" && name != vh {
			continue
		}
		v := s.VHost(name)
		if v == nil {
			continue
		}
		for _, p := range v.Policies() {
			out = append(out, Policy{VHost: name, Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Priority: p.Priority, Definition: p.Definition})
		}
	}
	slices.SortStableFunc(out, func(a, b Policy) int { return strings.Compare(a.VHost, b.VHost) })
	return out
}
