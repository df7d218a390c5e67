package main

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
)

// The policy commands, with rabbitmqctl 3.10's banners, table layout and
// error texts, over the management API's /api/policies.

// cmdSetPolicy is rabbitmqctl set_policy [-p <vhost>] [--priority <n>]
// [--apply-to <queues|exchanges|all>] <name> <pattern> <definition>.
func cmdSetPolicy(e *env, args []string) error {
	if err := wantArgs("set_policy", "<name> <pattern> <definition>", args, 3); err != nil {
		return err
	}
	name, pattern, def, vh := args[0], args[1], args[2], e.opts.vhost
	prio := 0
	if e.opts.priority != "" {
		n, err := strconv.Atoi(e.opts.priority)
		if err != nil {
			return errorf(exitUsage, "--priority must be an integer, not %q", e.opts.priority)
		}
		prio = n
	}
	applyTo := e.opts.applyTo
	if applyTo == "" {
		applyTo = "all"
	}
	e.banner("Setting policy \"%s\" for pattern \"%s\" to \"%s\" with priority \"%d\" for vhost \"%s\" ...", name, pattern, def, prio, vh)
	var defJSON json.RawMessage
	if err := json.Unmarshal([]byte(def), &defJSON); err != nil {
		// rabbit_policy:parse_set/7; Erlang's decoder gives no more reason
		// than badarg.
		return errorf(exitUnavailable, "JSON decoding error. Reason: badarg")
	}
	body, _ := json.Marshal(map[string]any{"pattern": pattern, "definition": defJSON, "priority": prio, "apply-to": applyTo})
	_, _, err := e.api.do(http.MethodPut, policyPath(vh, name), nil, body, "-")
	return policyError(err, vh)
}

// cmdClearPolicy is rabbitmqctl clear_policy [-p <vhost>] <name>.
func cmdClearPolicy(e *env, args []string) error {
	if err := wantArgs("clear_policy", "<name>", args, 1); err != nil {
		return err
	}
	name, vh := args[0], e.opts.vhost
	e.banner("Clearing policy \"%s\" on vhost \"%s\" ...", name, vh)
	_, _, err := e.api.do(http.MethodDelete, policyPath(vh, name), nil, nil, "-")
	if ce, ok := err.(*cliError); ok && ce.code == exitNotFound {
		// rabbit_runtime_parameters:clear_any/4's answer, for an unknown
		// vhost too.
		return errorf(exitUnavailable, "Parameter does not exist")
	}
	return err
}

// cmdListPolicies is rabbitmqctl list_policies [-p <vhost>].
func cmdListPolicies(e *env, args []string) error {
	if err := wantArgs("list_policies", "no arguments", args, 0); err != nil {
		return err
	}
	vh := e.opts.vhost
	e.banner("Listing policies for vhost \"%s\" ...", vh)
	var rows []map[string]any
	if err := e.api.getJSON("/api/policies/"+url.PathEscape(vh), &rows, "-"); err != nil {
		if ce, ok := err.(*cliError); ok && ce.code == exitNotFound {
			return noVHost(vh)
		}
		return err
	}
	return printRows(e, []string{"vhost", "name", "pattern", "apply-to", "definition", "priority"}, rows)
}

func policyPath(vh, name string) string {
	return "/api/policies/" + url.PathEscape(vh) + "/" + url.PathEscape(name)
}

// policyError turns the API's answers to a policy PUT into rabbitmqctl
// 3.10.8's: an unknown vhost as list_permissions says it (exit 65), a
// refused policy with the broker's validation text, unescaped (exit 69).
func policyError(err error, vh string) error {
	ce, ok := err.(*cliError)
	switch {
	case !ok:
		return err
	case ce.code == exitNotFound:
		return noVHost(vh)
	case ce.code == exitDataErr:
		return &cliError{code: exitUnavailable, msg: html.UnescapeString(ce.msg)}
	}
	return err
}
