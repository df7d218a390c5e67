package mgmttest

import (
	"slices"
	"strings"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/vhost"
)

// Policies implements mgmt.Policies.
func (b *Broker) Policies(vh string) []mgmt.Policy {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []mgmt.Policy
	for _, p := range b.policies {
		if vh == "" || p.Vhost == vh {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, c mgmt.Policy) int {
		return strings.Compare(a.Vhost+"\x00"+a.Name, c.Vhost+"\x00"+c.Name)
	})
	return out
}

// PutPolicy implements mgmt.Policies, with the broker's validation.
func (b *Broker) PutPolicy(p mgmt.Policy) (bool, error) {
	if p.ApplyTo == "" {
		p.ApplyTo = vhost.ApplyToAll
	}
	err := vhost.ValidatePolicy(vhost.Policy{Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Priority: p.Priority, Definition: p.Definition})
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.hasVHostLocked(p.Vhost) {
		return false, mgmt.ErrNotFound
	}
	n := len(b.policies)
	b.policies = slices.DeleteFunc(b.policies, func(q mgmt.Policy) bool { return q.Vhost == p.Vhost && q.Name == p.Name })
	b.policies = append(b.policies, p)
	return len(b.policies) > n, nil
}

// DeletePolicy implements mgmt.Policies.
func (b *Broker) DeletePolicy(vh, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.policies)
	b.policies = slices.DeleteFunc(b.policies, func(q mgmt.Policy) bool { return q.Vhost == vh && q.Name == name })
	if len(b.policies) == n {
		return mgmt.ErrNotFound
	}
	return nil
}
