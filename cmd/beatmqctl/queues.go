package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// channelColumns are the list_channels info keys, as rabbitmqctl lists
// them; its "pid" has no beatmq counterpart, and "connection" is the
// connection's name where rabbitmqctl shows its pid.
var channelColumns = []string{
	"acks_uncommitted", "confirm", "connection", "consumer_count", "global_prefetch_count",
	"messages_unacknowledged", "messages_uncommitted", "messages_unconfirmed", "name", "number",
	"prefetch_count", "transactional", "user", "vhost",
}

// bindingColumns are the list_bindings info keys, in rabbitmqctl's order.
var bindingColumns = []string{"source_name", "source_kind", "destination_name", "destination_kind", "routing_key", "arguments"}

// cmdListChannels is rabbitmqctl list_channels [<column> ...]; the default
// columns are rabbitmqctl's with the channel's name for its pid.
func cmdListChannels(e *env, args []string) error {
	cols, err := columns(args, channelColumns, []string{"name", "user", "consumer_count", "messages_unacknowledged"})
	if err != nil {
		return err
	}
	var rows []map[string]any
	if err := e.api.getJSON("/api/channels", &rows, ""); err != nil {
		return err
	}
	for _, r := range rows {
		if cd, ok := r["connection_details"].(map[string]any); ok {
			r["connection"] = cd["name"]
		}
	}
	e.banner("Listing channels ...")
	return printRows(e, cols, rows)
}

// cmdListBindings is rabbitmqctl list_bindings [-p <vhost>] [<column> ...]:
// the default-exchange binding of every queue first, as rabbitmqctl lists
// them.
func cmdListBindings(e *env, args []string) error {
	cols, err := columns(args, bindingColumns, bindingColumns)
	if err != nil {
		return err
	}
	var rows []map[string]any
	err = e.api.getJSON("/api/bindings/"+url.PathEscape(e.opts.vhost), &rows, "")
	var ce *cliError
	if errors.As(err, &ce) && ce.code == exitNotFound {
		// rabbitmqctl lists nothing for a vhost that does not exist.
		e.banner("Listing bindings for vhost %s...", e.opts.vhost)
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range rows {
		r["source_name"], r["source_kind"] = r["source"], "exchange"
		r["destination_name"], r["destination_kind"] = r["destination"], r["destination_type"]
		if e.opts.formatter != "json" {
			r["arguments"] = erlangTable(r["arguments"])
		}
	}
	e.banner("Listing bindings for vhost %s...", e.opts.vhost)
	return printRows(e, cols, rows)
}

// erlangTable writes a table's arguments as rabbitmqctl's table output
// does: [] when empty, else [{"key",value},...] by key.
func erlangTable(v any) string {
	m, _ := v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		val := text(m[k])
		if s, ok := m[k].(string); ok {
			val = fmt.Sprintf("%q", s)
		}
		parts = append(parts, fmt.Sprintf("{%q,%s}", k, val))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// queuePath is the API path of queue name in the vhost of e.
func queuePath(e *env, name string) string {
	return "/api/queues/" + url.PathEscape(e.opts.vhost) + "/" + url.PathEscape(name)
}

// cmdPurgeQueue is rabbitmqctl purge_queue [-p <vhost>] <queue>. A missing
// queue or vhost is rabbitmqctl's "not_found", exit 69.
func cmdPurgeQueue(e *env, args []string) error {
	if len(args) != 1 {
		return errorf(exitUsage, "purge_queue takes exactly one argument, the queue name (got %d)", len(args))
	}
	name := args[0]
	e.banner("Purging queue '%s' in vhost '%s' ...", name, e.opts.vhost)
	_, _, err := e.api.do(http.MethodDelete, queuePath(e, name)+"/contents", nil, nil, "not_found")
	var ce *cliError
	if errors.As(err, &ce) && ce.code == exitNotFound {
		ce.code = exitUnavailable
	}
	return err
}

// cmdDeleteQueue is rabbitmqctl delete_queue [-p <vhost>] <queue>
// [--if-empty|-e] [--if-unused|-u]: it reports the ready messages deleted
// with the queue, and rabbitmqctl's texts and exit code 64 for a queue that
// is missing, not empty or in use.
func cmdDeleteQueue(e *env, args []string) error {
	if len(args) != 1 {
		return errorf(exitUsage, "delete_queue takes exactly one argument, the queue name (got %d)", len(args))
	}
	name := args[0]
	var conds []string
	if e.opts.ifEmpty {
		conds = append(conds, "if queue is empty")
	}
	if e.opts.ifUnused {
		conds = append(conds, "if queue is unused")
	}
	banner := fmt.Sprintf("Deleting queue '%s' on vhost '%s'", name, e.opts.vhost)
	if len(conds) > 0 {
		banner += " " + strings.Join(conds, " and ")
	}
	e.banner("%s ...", banner)

	var q map[string]any
	if err := e.api.getJSON(queuePath(e, name), &q, "Queue not found"); err != nil {
		return asUsage(err)
	}
	ready := text(q["messages_ready"])
	path := queuePath(e, name)
	var query []string
	if e.opts.ifEmpty {
		query = append(query, "if-empty=true")
	}
	if e.opts.ifUnused {
		query = append(query, "if-unused=true")
	}
	if len(query) > 0 {
		path += "?" + strings.Join(query, "&")
	}
	_, _, err := e.api.do(http.MethodDelete, path, nil, nil, "Queue not found")
	var ce *cliError
	if errors.As(err, &ce) && ce.code == exitDataErr {
		switch {
		case strings.HasSuffix(ce.msg, "not empty"):
			return errorf(exitUsage, "Queue is not empty")
		case strings.HasSuffix(ce.msg, "in use"):
			return errorf(exitUsage, "Queue is in use")
		}
	}
	if err != nil {
		return asUsage(err)
	}
	fmt.Fprintf(e.stdout, "Queue was successfully deleted with %s ready messages\n", ready)
	return nil
}

// asUsage gives a not-found error rabbitmqctl's exit code for it in
// delete_queue, 64.
func asUsage(err error) error {
	var ce *cliError
	if errors.As(err, &ce) && ce.code == exitNotFound {
		ce.code = exitUsage
	}
	return err
}
