package vhost

import (
	"slices"
	"strings"

	"github.com/beatmq/beatmq/amqp"
)

// How a policy's key combines with the queue argument of the same name
// (x-<key>), as rabbit_queue_type_util:args_policy_lookup/3 resolves them
// for rabbit_amqqueue_process and rabbit_quorum_queue: the numeric limits
// take the lower of the two (res_min), the others the argument (res_arg).
var policyQueueKeys = []struct {
	key    string
	lowest bool
}{
	{"message-ttl", true},
	{"expires", true},
	{"max-length", true},
	{"max-length-bytes", true},
	{"delivery-limit", true},
	{"overflow", false},
	{"dead-letter-exchange", false},
	{"dead-letter-routing-key", false},
}

// SetPolicy adds or replaces the policy p.Name and applies the policies
// again to every queue and exchange at once (rabbit_policy:notify/5,
// update_matched_objects). It returns whether the policy is new, or a
// *PolicyError.
func (v *VHost) SetPolicy(p Policy) (created bool, err error) {
	c, err := compilePolicy(p)
	if err != nil {
		return false, err
	}
	v.mu.Lock()
	if v.policies == nil {
		v.policies = make(map[string]*policy)
	}
	_, existed := v.policies[p.Name]
	v.policies[p.Name] = c
	v.reapplyPolicies()
	return !existed, nil
}

// ClearPolicy removes the policy called name and applies the rest again;
// false when there is none.
func (v *VHost) ClearPolicy(name string) bool {
	v.mu.Lock()
	if _, ok := v.policies[name]; !ok {
		v.mu.Unlock()
		return false
	}
	delete(v.policies, name)
	v.reapplyPolicies()
	return true
}

// Policies returns the vhost's policies, sorted by name.
func (v *VHost) Policies() []Policy {
	v.mu.RLock()
	out := make([]Policy, 0, len(v.policies))
	for _, p := range v.policies {
		out = append(out, p.Policy)
	}
	v.mu.RUnlock()
	slices.SortFunc(out, func(a, b Policy) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// matchPolicy is rabbit_policy:match/2: of the policies whose pattern
// matches name and whose apply-to takes the kind, the one of highest
// priority. Among equal priorities RabbitMQ's choice follows its table's
// order; beatmq takes the first name in byte order, so the choice is at
// least stable. v.mu held.
func (v *VHost) matchPolicy(name string, queue bool) *policy {
	var best *policy
	for _, p := range v.policies {
		switch p.ApplyTo {
		case ApplyToQueues:
			if !queue {
				continue
			}
		case ApplyToExchanges:
			if queue {
				continue
			}
		}
		if !p.re.MatchString(name) {
			continue
		}
		if best == nil || p.Priority > best.Priority || (p.Priority == best.Priority && p.Name < best.Name) {
			best = p
		}
	}
	return best
}

// effectiveArgs is args with the policy's queue keys merged in as x-<key>
// (policyQueueKeys), what parseQueueConfig then reads.
func effectiveArgs(args amqp.Table, p *policy) amqp.Table {
	if p == nil {
		return args
	}
	out := slices.Clone(args)
	for _, k := range policyQueueKeys {
		pv, ok := p.Definition[k.key]
		if !ok {
			continue
		}
		name := "x-" + k.key
		av, has := out.Get(name)
		if !has {
			out = append(out, amqp.Field{Name: name, Value: pv})
			continue
		}
		if !k.lowest {
			continue
		}
		an, aok := intValue(av)
		pn, _ := pv.(int64)
		if aok && pn < an {
			for i := range out {
				if out[i].Name == name {
					out[i].Value = pv
				}
			}
		}
	}
	return out
}

// queueConfigFor is the configuration of a queue with args under p.
func queueConfigFor(args amqp.Table, p *policy) queueConfig {
	return parseQueueConfig(effectiveArgs(args, p))
}

// setPolicyFields copies into c the fields a policy can set, and only
// those: the others (the queue type, x-max-priority, single active
// consumer) are read without the queue's lock. VHost.mu and Queue.mu held.
func (c *queueConfig) setPolicyFields(n queueConfig) {
	c.ttl, c.expires, c.maxLen, c.maxBytes, c.overflow = n.ttl, n.expires, n.maxLen, n.maxBytes, n.overflow
	c.dlx, c.hasDLX, c.dlrk, c.hasDLRK = n.dlx, n.hasDLX, n.dlrk, n.hasDLRK
	c.deliveryLimit, c.hasLimit, c.limitArg = n.deliveryLimit, n.hasLimit, n.limitArg
}

// setAlternate sets x's alternate exchange: its argument when it has one
// (rabbit_policy:get_arg/3: the argument wins), else its policy's.
// v.mu held for writing.
func (x *Exchange) setAlternate(p *policy) {
	x.policy = p
	x.alternate, x.hasAlternate = "", false
	if a, ok := x.args.Get("alternate-exchange"); ok {
		x.alternate, x.hasAlternate = a.(string)
		return
	}
	if p != nil {
		if s, ok := p.Definition["alternate-exchange"].(string); ok {
			x.alternate, x.hasAlternate = s, true
		}
	}
}

// reapplyPolicies matches every queue and exchange again and applies what
// changed, then releases v.mu (held for writing on entry). A queue whose
// limits changed drops what they no longer allow and restarts its expiry
// countdown, as the queue process does on policy_changed.
func (v *VHost) reapplyPolicies() {
	for _, x := range v.exchanges {
		if p := v.matchPolicy(x.name, false); p != x.policy {
			x.setAlternate(p)
		}
	}
	type change struct {
		q         *Queue
		truncates bool
	}
	var changed []change
	for _, q := range v.queues {
		p := v.matchPolicy(q.name, true)
		q.mu.Lock()
		if p != q.policy {
			// rabbit_amqqueue_process:process_args_policy/1 applies
			// max-length before overflow: the queue is cut to its new
			// limit from the head (dead-lettering with the new
			// dead-letter exchange) when its old overflow was drop-head,
			// whatever the new one is. Checked against RabbitMQ 3.10.8.
			truncates := q.cfg.overflow == overflowDropHead
			q.policy = p
			q.cfg.setPolicyFields(queueConfigFor(q.args, p))
			changed = append(changed, change{q, truncates})
		}
		q.mu.Unlock()
	}
	v.mu.Unlock()
	for _, c := range changed {
		q := c.q
		q.mu.Lock()
		if q.deleted {
			q.mu.Unlock()
			continue
		}
		if q.cfg.expires <= 0 {
			q.expiryGen++
			if q.expiryTimer != nil {
				q.expiryTimer.Stop()
			}
		}
		q.armExpiry()
		if c.truncates {
			q.dropHeadOverLimit()
		}
		q.dropExpired(0)
		q.unlock()
	}
}

// policyInfo is the name and definition of p for QueueInfo and
// ExchangeInfo.
func policyInfo(p *policy) (string, map[string]any) {
	if p == nil {
		return "", nil
	}
	return p.Name, p.Definition
}
