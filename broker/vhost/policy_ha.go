package vhost

import "slices"

// haKeys are the keys rabbit_mirror_queue_misc validates.
var haKeys = []string{"ha-mode", "ha-params", "ha-sync-mode", "ha-sync-batch-size", "ha-promote-on-shutdown", "ha-promote-on-failure"}

// checkHA is rabbit_mirror_queue_misc:validate_policy/1 over the ha-* keys
// of a definition, with RabbitMQ 3.10.8's texts; "" when they are good.
// beatmq accepts them and ignores them: one node has nothing to mirror,
// as a single RabbitMQ node has not.
func checkHA(def map[string]any) string {
	mode, hasMode := def["ha-mode"]
	params, hasParams := def["ha-params"]
	if !hasMode {
		for _, k := range haKeys[1:] {
			if _, ok := def[k]; ok {
				return "ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown"
			}
		}
		return ""
	}
	given := "none"
	if hasParams {
		given = policyTerm(params)
	}
	switch mode {
	case "all":
		if hasParams {
			return `ha-mode="all" does not take parameters`
		}
	case "exactly":
		if n, ok := params.(int64); !ok || n <= 0 {
			return `ha-mode="exactly" takes an integer, ` + given + " given"
		}
	case "nodes":
		l, ok := params.([]any)
		if !ok || len(l) == 0 || slices.ContainsFunc(l, func(e any) bool { _, s := e.(string); return !s }) {
			return `ha-mode="nodes" takes a list, ` + given + " given"
		}
	default:
		return policyTerm(mode) + " is not a valid ha-mode value"
	}
	if v, ok := def["ha-sync-mode"]; ok && v != "manual" && v != "automatic" {
		return `ha-sync-mode must be "manual" or "automatic", got ` + policyTerm(v)
	}
	if v, ok := def["ha-sync-batch-size"]; ok {
		if n, isInt := v.(int64); !isInt || n <= 0 {
			return "ha-sync-batch-size takes an integer greater than 0, " + policyTerm(v) + " given"
		}
	}
	for _, k := range []string{"ha-promote-on-shutdown", "ha-promote-on-failure"} {
		if v, ok := def[k]; ok && v != "always" && v != "when-synced" {
			return k + ` must be "always" or "when-synced", got ` + policyTerm(v)
		}
	}
	return ""
}
