package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// connectionColumns are the list_connections info keys beatmq can show, in
// rabbitmqctl's order (its "pid" has no beatmq counterpart), then beatmq's
// own (the management API's beatmq_* fields).
var connectionColumns = []string{
	"name", "port", "host", "peer_port", "peer_host", "ssl", "ssl_protocol",
	"ssl_key_exchange", "ssl_cipher", "ssl_hash", "peer_cert_subject",
	"peer_cert_issuer", "peer_cert_validity", "state", "channels", "protocol",
	"auth_mechanism", "user", "vhost", "timeout", "frame_max", "channel_max",
	"client_properties", "recv_oct", "recv_cnt", "send_oct", "send_cnt",
	"send_pend", "connected_at", "user_provided_name",
	// beatmq's own: heartbeat telemetry and the injected fault
	"beatmq_heartbeat_received", "beatmq_heartbeat_sent",
	"beatmq_heartbeat_cadence_last_s", "beatmq_heartbeat_cadence_median_s",
	"beatmq_heartbeat_silence_in_max_t", "beatmq_heartbeat_silence_out_max_t",
	"beatmq_heartbeat_recv_age_s", "beatmq_heartbeat_send_age_s",
	"beatmq_heartbeat_late_warnings", "beatmq_fault",
}

// queueColumns are the list_queues info keys beatmq can show.
var queueColumns = []string{
	"name", "durable", "auto_delete", "arguments", "policy", "exclusive",
	"exclusive_consumer_tag", "messages_ready", "messages_unacknowledged",
	"messages", "messages_persistent", "message_bytes", "message_bytes_persistent",
	"messages_paged_out", "message_bytes_paged_out", "messages_ram", "message_bytes_ram",
	"consumers", "state", "type", "vhost",
}

// exchangeColumns are the list_exchanges info keys beatmq can show.
var exchangeColumns = []string{"name", "type", "durable", "auto_delete", "internal", "arguments", "policy", "vhost"}

// columns validates the requested info keys against valid, or returns def
// when none are requested.
func columns(args, valid, def []string) ([]string, error) {
	if len(args) == 0 {
		return def, nil
	}
	var bad []string
	for _, a := range args {
		if !slices.Contains(valid, a) {
			bad = append(bad, a)
		}
	}
	if len(bad) > 0 {
		return nil, errorf(exitUsage, "Info key(s) %s are not supported. Valid keys: %s",
			strings.Join(bad, ","), strings.Join(valid, ", "))
	}
	return args, nil
}

// printRows prints one row per object with the given columns: a header row
// and tab-separated values as rabbitmqctl's table formatter does, or a JSON
// array of objects with --formatter json.
func printRows(e *env, cols []string, rows []map[string]any) error {
	if e.opts.formatter == "json" {
		out := make([]map[string]any, len(rows))
		for i, r := range rows {
			out[i] = make(map[string]any, len(cols))
			for _, c := range cols {
				out[i][c] = r[c]
			}
		}
		return writeJSONLine(e, out)
	}
	if !e.opts.noHeaders && !e.opts.silent {
		fmt.Fprintln(e.stdout, strings.Join(cols, "\t"))
	}
	vals := make([]string, len(cols))
	for _, r := range rows {
		for i, c := range cols {
			vals[i] = cell(r[c])
		}
		fmt.Fprintln(e.stdout, strings.Join(vals, "\t"))
	}
	return nil
}

// cell renders a value for a table cell on one line.
func cell(v any) string {
	s := text(v)
	return strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\r", "\\r").Replace(s)
}

// text renders a JSON value decoded with UseNumber: strings as they are,
// numbers exactly as sent, null as empty, objects and arrays as compact JSON.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return fmt.Sprint(x)
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
}

// number returns a JSON number as a float64.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return errorf(exitSoftware, "encoding output: %v", err)
	}
	return nil
}
