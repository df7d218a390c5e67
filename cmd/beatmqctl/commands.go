package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/beatmq/beatmq/broker/alarm"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// cmdSetWatermark is rabbitmqctl set_vm_memory_high_watermark <fraction>.
func cmdSetWatermark(e *env, args []string) error {
	if len(args) > 0 && args[0] == "absolute" {
		return errorf(exitUsage, "set_vm_memory_high_watermark absolute is not supported by beatmq: give a fraction between 0.0 and 1.0")
	}
	if len(args) != 1 {
		return errorf(exitUsage, "set_vm_memory_high_watermark takes exactly one argument, a fraction between 0.0 and 1.0 (got %d)", len(args))
	}
	f, err := strconv.ParseFloat(args[0], 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errorf(exitDataErr, "%q is not a number: the threshold should be a fraction between 0.0 and 1.0", args[0])
	}
	if f < 0 || f > 1 {
		// rabbitmqctl's validation message, word for word.
		return errorf(exitDataErr, "The threshold should be a fraction between 0.0 and 1.0")
	}
	e.banner("Setting memory threshold to %s ...", args[0])
	body, _ := json.Marshal(map[string]float64{"fraction": f})
	_, _, err = e.api.do(http.MethodPut, mgmt.WatermarkPath, nil, body,
		"this broker has no "+mgmt.WatermarkPath+" route: is it beatmq?")
	return err
}

// cmdSetDiskFreeLimit is rabbitmqctl set_disk_free_limit <disk_limit> |
// mem_relative <fraction>.
func cmdSetDiskFreeLimit(e *env, args []string) error {
	const usage = "set_disk_free_limit takes <disk_limit> (bytes, or with a unit: 50MB, 2GB, 500MiB) or mem_relative <fraction>"
	var limit, banner string
	switch {
	case len(args) == 2 && args[0] == "mem_relative":
		f, err := strconv.ParseFloat(args[1], 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return errorf(exitDataErr, "Bad argument: %q is not a fraction of 0.0 or more", args[1])
		}
		limit = "{mem_relative," + strconv.FormatFloat(f, 'g', -1, 64) + "}"
		banner = "Setting disk free limit on %s to " + args[1] + " times the total RAM ..."
	case len(args) == 1 && args[0] != "mem_relative":
		if _, err := alarm.ParseDiskFreeLimit(args[0]); err != nil || strings.HasPrefix(args[0], "{") {
			return errorf(exitDataErr, "Bad argument: %q is not a disk limit (bytes, or with a unit: 50MB, 2GB, 500MiB)", args[0])
		}
		limit = args[0]
		banner = "Setting disk free limit on %s to " + args[0] + " bytes ..."
	default:
		return errorf(exitUsage, "%s", usage)
	}
	var ov map[string]any
	if err := e.api.getJSON("/api/overview", &ov, ""); err != nil {
		return err
	}
	e.banner(banner, text(ov["node"]))
	body, _ := json.Marshal(map[string]string{"limit": limit})
	_, _, err := e.api.do(http.MethodPut, mgmt.DiskFreeLimitPath, nil, body,
		"this broker has no "+mgmt.DiskFreeLimitPath+" route: is it beatmq?")
	return err
}

// gb writes bytes in gigabytes as rabbitmqctl status does: at most four
// decimals, no trailing zeros.
func gb(bytes float64) string {
	return strconv.FormatFloat(math.Round(bytes/1e9*1e4)/1e4, 'f', -1, 64)
}

// cmdCloseConnection is rabbitmqctl close_connection <name> <explanation>.
func cmdCloseConnection(e *env, args []string) error {
	if len(args) != 2 {
		return errorf(exitUsage, "close_connection takes two arguments, the connection name and the explanation (got %d)", len(args))
	}
	name, reason := args[0], args[1]
	e.banner("Closing connection %s, reason: %s...", name, reason)
	hdr := http.Header{"X-Reason": {reason}}
	_, _, err := e.api.do(http.MethodDelete, "/api/connections/"+url.PathEscape(name), hdr, nil,
		fmt.Sprintf("no open connection named %q (list_connections name shows the names)", name))
	return err
}

// cmdListConnections is rabbitmqctl list_connections [<column> ...].
func cmdListConnections(e *env, args []string) error {
	cols, err := columns(args, connectionColumns, []string{"user", "peer_host", "peer_port", "state"})
	if err != nil {
		return err
	}
	var rows []map[string]any
	if err := e.api.getJSON("/api/connections", &rows, ""); err != nil {
		return err
	}
	e.banner("Listing connections ...")
	return printRows(e, cols, rows)
}

// cmdListQueues is rabbitmqctl list_queues [-p <vhost>] [<column> ...].
func cmdListQueues(e *env, args []string) error {
	cols, err := columns(args, queueColumns, []string{"name", "messages"})
	if err != nil {
		return err
	}
	var rows []map[string]any
	if err := e.api.getJSON("/api/queues/"+url.PathEscape(e.opts.vhost), &rows,
		fmt.Sprintf("virtual host '%s' does not exist", e.opts.vhost)); err != nil {
		return err
	}
	e.banner("Timeout: %.1f seconds ...", e.opts.timeout.Seconds())
	e.banner("Listing queues for vhost %s ...", e.opts.vhost)
	return printRows(e, cols, rows)
}

// cmdListExchanges is rabbitmqctl list_exchanges [-p <vhost>] [<column> ...].
func cmdListExchanges(e *env, args []string) error {
	cols, err := columns(args, exchangeColumns, []string{"name", "type"})
	if err != nil {
		return err
	}
	var rows []map[string]any
	if err := e.api.getJSON("/api/exchanges/"+url.PathEscape(e.opts.vhost), &rows,
		fmt.Sprintf("virtual host '%s' does not exist", e.opts.vhost)); err != nil {
		return err
	}
	e.banner("Listing exchanges for vhost %s ...", e.opts.vhost)
	return printRows(e, cols, rows)
}

// cmdStatus is rabbitmqctl status: node, product, totals, memory, alarms and
// listeners, from GET /api/overview and GET /api/nodes.
func cmdStatus(e *env, args []string) error {
	if len(args) != 0 {
		return errorf(exitUsage, "status takes no arguments")
	}
	var ov map[string]any
	if err := e.api.getJSON("/api/overview", &ov, ""); err != nil {
		return err
	}
	var nodes []map[string]any
	if err := e.api.getJSON("/api/nodes", &nodes, ""); err != nil {
		return err
	}
	node := map[string]any{}
	if len(nodes) > 0 {
		node = nodes[0]
	}
	if e.opts.formatter == "json" {
		return writeJSONLine(e, map[string]any{"overview": ov, "node": node})
	}

	w := e.stdout
	e.banner("Status of node %s ...", text(ov["node"]))
	fmt.Fprintf(w, "Runtime\n\n")
	fmt.Fprintf(w, "Product name: %s\n", text(ov["product_name"]))
	fmt.Fprintf(w, "Product version: %s\n", text(ov["product_version"]))
	fmt.Fprintf(w, "RabbitMQ compatibility version: %s\n", text(ov["rabbitmq_version"]))
	fmt.Fprintf(w, "Node name: %s\n", text(ov["node"]))
	if ms, ok := number(node["uptime"]); ok {
		fmt.Fprintf(w, "Uptime (seconds): %d\n", int64(ms/1000))
	}

	// rabbitmqctl status lists the disk alarm before the memory alarm.
	fmt.Fprintf(w, "\nAlarms\n\n")
	if node["disk_free_alarm"] == true {
		fmt.Fprintf(w, "Free disk space alarm on node %s\n", text(ov["node"]))
	}
	if node["mem_alarm"] == true {
		fmt.Fprintf(w, "Memory alarm on node %s\n", text(ov["node"]))
	}
	if node["disk_free_alarm"] != true && node["mem_alarm"] != true {
		fmt.Fprintf(w, "(none)\n")
	}

	fmt.Fprintf(w, "\nMemory\n\n")
	used, _ := number(node["mem_used"])
	limit, _ := number(node["mem_limit"])
	total, _ := number(node["total_memory"])
	fmt.Fprintf(w, "Total memory used: %.4f gb\n", used/1e9)
	fmt.Fprintf(w, "Calculation strategy: beatmq\n")
	fmt.Fprintf(w, "Memory high watermark setting: %s of available memory, computed to: %.4f gb\n",
		text(node["vm_memory_high_watermark"]), limit/1e9)
	if total > 0 {
		fmt.Fprintf(w, "Available memory: %.4f gb\n", total/1e9)
	}

	free, _ := number(node["disk_free"])
	if freeLimit, _ := number(node["disk_free_limit"]); free > 0 || freeLimit > 0 {
		fmt.Fprintf(w, "\nFree Disk Space\n\n")
		fmt.Fprintf(w, "Low free disk space watermark: %s gb\n", gb(freeLimit))
		fmt.Fprintf(w, "Free disk space: %s gb\n", gb(free))
	}

	fmt.Fprintf(w, "\nTotals\n\n")
	totals, _ := ov["object_totals"].(map[string]any)
	qt, _ := ov["queue_totals"].(map[string]any)
	fmt.Fprintf(w, "Connection count: %s\n", text(totals["connections"]))
	fmt.Fprintf(w, "Channel count: %s\n", text(totals["channels"]))
	fmt.Fprintf(w, "Queue count: %s\n", text(totals["queues"]))
	fmt.Fprintf(w, "Consumer count: %s\n", text(totals["consumers"]))
	fmt.Fprintf(w, "Exchange count: %s\n", text(totals["exchanges"]))
	fmt.Fprintf(w, "Messages: %s (ready %s, unacknowledged %s)\n",
		text(qt["messages"]), text(qt["messages_ready"]), text(qt["messages_unacknowledged"]))

	fmt.Fprintf(w, "\nListeners\n\n")
	listeners, _ := ov["listeners"].([]any)
	if len(listeners) == 0 {
		fmt.Fprintf(w, "(none reported)\n")
	}
	for _, l := range listeners {
		lm, _ := l.(map[string]any)
		proto := text(lm["protocol"])
		fmt.Fprintf(w, "Interface: %s, port: %s, protocol: %s, purpose: %s\n",
			text(lm["ip_address"]), text(lm["port"]), proto, purpose(proto))
	}
	return nil
}

// purpose describes a listener's protocol as rabbitmqctl status does.
func purpose(protocol string) string {
	switch protocol {
	case "amqp":
		return "AMQP 0-9-1"
	case "http":
		return "HTTP API"
	default:
		return strings.ToUpper(protocol)
	}
}
