package broker

import (
	"encoding/json"
	"fmt"

	"github.com/beatmq/beatmq/broker/vhost"
)

// defsPolicy is a policy in a definitions document, in RabbitMQ's field
// order; VHost is left out of one vhost's document.
type defsPolicy struct {
	VHost      string          `json:"vhost,omitempty"`
	Name       string          `json:"name"`
	Pattern    string          `json:"pattern"`
	ApplyTo    string          `json:"apply-to"`
	Definition json.RawMessage `json:"definition"`
	Priority   int             `json:"priority"`
}

// exportPolicies lists the policies of vh ("" for every vhost) as a
// definitions document writes them, with their vhost when withVHost.
func (s *Server) exportPolicies(vh string, withVHost bool) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	for _, p := range s.Policies(vh) {
		def, err := json.Marshal(p.Definition)
		if err != nil {
			return nil, fmt.Errorf("policy '%s' in vhost '%s': %w", p.Name, p.VHost, err)
		}
		dp := defsPolicy{Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Definition: def, Priority: p.Priority}
		if withVHost {
			dp.VHost = p.VHost
		}
		b, err := json.Marshal(dp)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// planPolicies checks a document's policies, each against RabbitMQ's
// policy validation (vhost.ValidatePolicy) and known (its vhost is in the
// document or the broker). forceVHost, when set, is the vhost of every
// policy (one vhost's document).
func planPolicies(raw []json.RawMessage, forceVHost string, known func(at, name string) error) ([]Policy, error) {
	var out []Policy
	seen := map[[2]string]bool{}
	for i, r := range raw {
		at := fmt.Sprintf("policies[%d]", i)
		var dp defsPolicy
		if err := json.Unmarshal(r, &dp); err != nil {
			return nil, badDefs("%s: %v", at, err)
		}
		if forceVHost != "" {
			dp.VHost = forceVHost
		}
		if err := known(at, dp.VHost); err != nil {
			return nil, err
		}
		if dp.Name == "" {
			return nil, badDefs("%s: policy name is missing", at)
		}
		k := [2]string{dp.VHost, dp.Name}
		if seen[k] {
			return nil, badDefs("%s: policy '%s' in vhost '%s' appears twice", at, dp.Name, dp.VHost)
		}
		seen[k] = true
		if len(dp.Definition) == 0 {
			return nil, badDefs("%s: policy '%s' in vhost '%s': definition is missing", at, dp.Name, dp.VHost)
		}
		def, err := vhost.DecodeDefinition(dp.Definition)
		if err != nil {
			return nil, badDefs("%s: policy '%s' in vhost '%s': definition: %v", at, dp.Name, dp.VHost, err)
		}
		p := Policy{VHost: dp.VHost, Name: dp.Name, Pattern: dp.Pattern, ApplyTo: dp.ApplyTo, Priority: dp.Priority, Definition: def}
		if p.ApplyTo == "" {
			p.ApplyTo = vhost.ApplyToAll
		}
		vp := vhost.Policy{Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Priority: p.Priority, Definition: p.Definition}
		if err := vhost.ValidatePolicy(vp); err != nil {
			return nil, badDefs("%s: policy '%s' in vhost '%s': %v", at, dp.Name, dp.VHost, err)
		}
		out = append(out, p)
	}
	return out, nil
}
