// Command beatmqctl manages a running beatmq broker through its management
// HTTP API. It accepts rabbitmqctl's command names, arguments and output
// layout for the commands it has, so tools and test suites that drive
// rabbitmqctl (the amqp091-go integration suite through
// RABBITMQ_RABBITMQCTL_PATH, for one) can drive beatmq unchanged.
//
// Usage:
//
//	beatmqctl [flags] <command> [arguments]
//
// Commands:
//
//	set_vm_memory_high_watermark <fraction>   set the memory alarm threshold (0.0 to 1.0)
//	set_disk_free_limit <disk_limit> | mem_relative <fraction>
//	                                          set the free disk space alarm threshold
//	list_connections [<column> ...]           default columns: user peer_host peer_port state
//	list_queues [-p <vhost>] [<column> ...]   default columns: name messages
//	list_exchanges [-p <vhost>] [<column> ...] default columns: name type
//	list_channels [<column> ...]              default columns: name user consumer_count
//	                                          messages_unacknowledged (rabbitmqctl's, name for pid)
//	list_bindings [-p <vhost>] [<column> ...] default: all columns
//	purge_queue [-p <vhost>] <queue>          remove a queue's ready messages
//	delete_queue [-p <vhost>] <queue> [--if-empty|-e] [--if-unused|-u]
//	                                          delete a queue
//	add_user <username> <password>            add a user (no tags, no permissions)
//	delete_user <username>                    delete a user and its permissions
//	change_password <username> <password>     change a user's password
//	set_user_tags <username> <tag> [...]      set a user's tags
//	list_users                                users and their tags
//	add_vhost <vhost>                         add a virtual host
//	delete_vhost <vhost>                      delete a virtual host (closes its connections)
//	list_vhosts [<column> ...]                default column: name
//	set_permissions [-p <vhost>] <username> <conf> <write> <read>
//	                                          set a user's permissions in a vhost
//	clear_permissions [-p <vhost>] <username> remove them
//	list_permissions [-p <vhost>]             the permissions in a vhost
//	set_policy [-p <vhost>] [--priority <n>] [--apply-to queues|exchanges|all] <name> <pattern> <definition>
//	                                          set a policy (definition: a JSON object)
//	clear_policy [-p <vhost>] <name>          remove a policy
//	list_policies [-p <vhost>]                the policies in a vhost
//	close_connection <name> <explanation>     force-close (320 CONNECTION_FORCED)
//	fault <name> <kind> [--for D] [--factor K] [--latency D]
//	                                          inject a fault (beatmq's own: mute-heartbeats,
//	                                          slow-heartbeats, freeze-out, freeze-in, half-open,
//	                                          latency, reset); <name> is the connection's name,
//	                                          id or client-provided name
//	fault <name> clear                        clear it
//	status                                    node, totals, memory, alarms, listeners
//	inspect-log [flags] [FILE...]             summarise beatmq or RabbitMQ logs (no broker needed)
//	help                                      this text
//
// The broker is found at http://127.0.0.1:15672 as guest/guest unless
// --mgmt-url/--user/--password or BEATMQ_MGMT_URL/BEATMQ_USER/BEATMQ_PASSWORD
// say otherwise (flags win). Exit codes are rabbitmqctl's: 0 success, 64
// usage, 65 bad argument value, 66 no such object, 69 broker unreachable, 70
// other broker error, 75 timeout, 77 credentials refused.
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Defaults, RabbitMQ's management listener and default user.
const (
	defaultMgmtURL  = "http://127.0.0.1:15672"
	defaultUser     = "guest"
	defaultPassword = "guest"
	defaultTimeout  = 60 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// options are the global flags.
type options struct {
	mgmtURL, user, password string
	timeout                 time.Duration
	vhost                   string
	quiet, silent           bool
	noHeaders               bool
	formatter               string
	node                    string
	faultFor, faultLatency  string // fault --for, --latency: durations, a bare number is seconds
	faultFactor             string // fault --factor
	priority, applyTo       string // set_policy --priority, --apply-to
	ifEmpty, ifUnused       bool   // delete_queue --if-empty, --if-unused
}

// command is one beatmqctl command.
type command struct {
	name    string
	args    string // argument synopsis for usage
	summary string
	run     func(e *env, args []string) error
}

// env is what a command runs with.
type env struct {
	opts   options
	api    *apiClient
	stdout io.Writer
}

// banner prints rabbitmqctl's informational first line unless quiet or the
// output is JSON.
func (e *env) banner(format string, args ...any) {
	if !e.opts.quiet && !e.opts.silent && e.opts.formatter != "json" {
		fmt.Fprintf(e.stdout, format+"\n", args...)
	}
}

// commands lists the commands in usage order.
var commands = []command{
	{"set_vm_memory_high_watermark", "<fraction>", "set the memory high watermark, a fraction (0.0 to 1.0) of available memory", cmdSetWatermark},
	{"set_disk_free_limit", "<disk_limit> | mem_relative <fraction>", "set the free disk space limit: bytes, with a unit (50MB, 2GB, 500MiB), or a multiple of total memory", cmdSetDiskFreeLimit},
	{"list_connections", "[<column> ...]", "list open connections (default columns: user peer_host peer_port state)", cmdListConnections},
	{"list_queues", "[-p <vhost>] [<column> ...]", "list queues (default columns: name messages)", cmdListQueues},
	{"list_exchanges", "[-p <vhost>] [<column> ...]", "list exchanges (default columns: name type)", cmdListExchanges},
	{"list_channels", "[<column> ...]", "list open channels (default columns: name user consumer_count messages_unacknowledged)", cmdListChannels},
	{"list_bindings", "[-p <vhost>] [<column> ...]", "list bindings (default: all columns)", cmdListBindings},
	{"purge_queue", "[-p <vhost>] <queue>", "remove a queue's ready messages", cmdPurgeQueue},
	{"delete_queue", "[-p <vhost>] <queue> [--if-empty|-e] [--if-unused|-u]", "delete a queue, only if empty or unused when asked", cmdDeleteQueue},
	{"add_user", "<username> <password>", "add a user, with no tags and no permissions", cmdAddUser},
	{"delete_user", "<username>", "delete a user and its permissions", cmdDeleteUser},
	{"change_password", "<username> <password>", "change a user's password", cmdChangePassword},
	{"set_user_tags", "<username> <tag> [...]", "set a user's tags (administrator, monitoring, policymaker, management, impersonator)", cmdSetUserTags},
	{"list_users", "", "list users and their tags", cmdListUsers},
	{"add_vhost", "<vhost>", "add a virtual host", cmdAddVHost},
	{"delete_vhost", "<vhost>", "delete a virtual host: its connections are closed, its queues and exchanges deleted", cmdDeleteVHost},
	{"list_vhosts", "[<column> ...]", "list virtual hosts (default column: name)", cmdListVHosts},
	{"set_permissions", "[-p <vhost>] <username> <conf> <write> <read>", "set a user's permissions in a vhost (regular expressions)", cmdSetPermissions},
	{"clear_permissions", "[-p <vhost>] <username>", "remove a user's permissions in a vhost", cmdClearPermissions},
	{"list_permissions", "[-p <vhost>]", "list the permissions in a vhost", cmdListPermissions},
	{"set_policy", "[-p <vhost>] [--priority <n>] [--apply-to queues|exchanges|all] <name> <pattern> <definition>", "set a policy: the JSON definition applies to the queues and exchanges the pattern matches", cmdSetPolicy},
	{"clear_policy", "[-p <vhost>] <name>", "remove a policy", cmdClearPolicy},
	{"list_policies", "[-p <vhost>]", "list the policies in a vhost", cmdListPolicies},
	{"export_definitions", `<file_path | "-">`, "export users, vhosts, permissions, policies, queues, exchanges and bindings in RabbitMQ's JSON format", cmdExportDefinitions},
	{"import_definitions", `<file_path | "-">`, "import definitions in RabbitMQ's JSON format, all or nothing", cmdImportDefinitions},
	{"close_connection", "<name> <explanation>", "force-close a connection (connection.close 320 CONNECTION_FORCED)", cmdCloseConnection},
	{"fault", "<name> <kind>|clear [--for D] [--factor K] [--latency D]", "inject a fault into a connection (" + faultKinds + "), or clear it", cmdFault},
	{"status", "", "show the node's status", cmdStatus},
	{inspectLogName, "[--since T] [--until T] [--json] [--top N] [FILE...]", "summarise connections, heartbeat failures and their clients from beatmq or RabbitMQ logs (`beatmqctl inspect-log --help`)", nil},
	{"help", "", "show this help", nil},
}

// run executes beatmqctl with args and returns the exit code. getenv
// supplies the environment.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("beatmqctl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(true)
	var o options
	fs.StringVar(&o.mgmtURL, "mgmt-url", envOr(getenv, "BEATMQ_MGMT_URL", defaultMgmtURL), "management API base URL (env BEATMQ_MGMT_URL)")
	fs.StringVar(&o.user, "user", envOr(getenv, "BEATMQ_USER", defaultUser), "management API user (env BEATMQ_USER)")
	fs.StringVar(&o.password, "password", envOr(getenv, "BEATMQ_PASSWORD", defaultPassword), "management API password (env BEATMQ_PASSWORD)")
	fs.DurationVarP(&o.timeout, "timeout", "t", defaultTimeout, "give up on the broker after this long (e.g. 30s; a bare number is seconds)")
	fs.StringVarP(&o.vhost, "vhost", "p", "/", "virtual host for list_queues, list_exchanges, list_bindings, purge_queue, delete_queue and the permission commands")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "suppress informational messages")
	fs.BoolVarP(&o.silent, "silent", "s", false, "suppress informational messages and table headers")
	fs.BoolVar(&o.noHeaders, "no-table-headers", false, "do not print table headers")
	fs.StringVar(&o.formatter, "formatter", "table", "output format: table or json")
	fs.StringVarP(&o.node, "node", "n", "", "accepted for rabbitmqctl compatibility and ignored: the broker is the one at --mgmt-url")
	fs.StringVar(&o.faultFor, "for", "", "fault: how long until the fault clears itself (e.g. 30s; a bare number is seconds; default: until cleared)")
	fs.StringVar(&o.faultFactor, "factor", "", "fault slow-heartbeats: heartbeats every factor·T/2 (at least 1, default 2)")
	fs.StringVar(&o.faultLatency, "latency", "", "fault latency: delay on outbound frames (e.g. 200ms; a bare number is seconds)")
	fs.StringVar(&o.priority, "priority", "", "set_policy: the policy's priority (default 0)")
	fs.StringVar(&o.applyTo, "apply-to", "", "set_policy: queues, exchanges or all (default all)")
	fs.BoolVarP(&o.ifEmpty, "if-empty", "e", false, "delete_queue: only if the queue has no ready messages")
	fs.BoolVarP(&o.ifUnused, "if-unused", "u", false, "delete_queue: only if the queue has no consumers")
	help := fs.BoolP("help", "h", false, "show this help")

	if i := inspectLogIndex(fs, args); i >= 0 {
		// Reads files: no broker, and the global flags do not apply.
		if slices.ContainsFunc(args[:i], func(a string) bool { return a == "-h" || a == "--help" }) {
			return cmdInspectLog([]string{"--help"}, stdin, stdout, stderr)
		}
		return cmdInspectLog(args[i+1:], stdin, stdout, stderr)
	}
	if err := fs.Parse(secondsAsDuration(args)); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n\n", err)
		usage(stderr, fs)
		return exitUsage
	}
	rest := fs.Args()
	if *help || len(rest) == 0 || rest[0] == "help" {
		usage(stdout, fs)
		if len(rest) == 0 && !*help {
			return exitUsage
		}
		return exitOK
	}
	if o.formatter != "table" && o.formatter != "json" {
		fmt.Fprintf(stderr, "Error: --formatter must be table or json, not %q\n", o.formatter)
		return exitUsage
	}
	if o.timeout <= 0 {
		fmt.Fprintf(stderr, "Error: --timeout must be positive\n")
		return exitUsage
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == rest[0] })
	if i < 0 || commands[i].run == nil {
		fmt.Fprintf(stderr, "Error: unknown command %q\n\n", rest[0])
		usage(stderr, fs)
		return exitUsage
	}
	if rest[0] != "set_policy" {
		for _, f := range []string{"priority", "apply-to"} {
			if fs.Changed(f) {
				fmt.Fprintf(stderr, "Error: --%s applies to the set_policy command only, not to %s\n", f, rest[0])
				return exitUsage
			}
		}
	}
	if rest[0] != "delete_queue" {
		for _, f := range []string{"if-empty", "if-unused"} {
			if fs.Changed(f) {
				fmt.Fprintf(stderr, "Error: --%s applies to the delete_queue command only, not to %s\n", f, rest[0])
				return exitUsage
			}
		}
	}
	if rest[0] != "fault" {
		// The fault command's flags are parsed with the others; elsewhere
		// they would be ignored without a word.
		for _, f := range []string{"for", "factor", "latency"} {
			if fs.Changed(f) {
				fmt.Fprintf(stderr, "Error: --%s applies to the fault command only, not to %s\n", f, rest[0])
				return exitUsage
			}
		}
	}
	api, err := newAPIClient(o.mgmtURL, o.user, o.password, o.timeout)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitCode(err)
	}
	e := &env{opts: o, api: api, stdout: stdout}
	if err := commands[i].run(e, rest[1:]); err != nil {
		if ce, ok := err.(*cliError); ok && ce.bare {
			fmt.Fprintf(stderr, "%v\n", err)
			return exitCode(err)
		}
		fmt.Fprintf(stderr, "Error:\n%v\n", err)
		return exitCode(err)
	}
	return exitOK
}

// envOr returns the environment variable key, or def when it is unset or
// empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// secondsAsDuration rewrites a bare number given to -t/--timeout (seconds,
// as rabbitmqctl takes it) into a duration pflag understands.
func secondsAsDuration(args []string) []string {
	out := slices.Clone(args)
	isNumber := func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789.") == ""
	}
	for i, a := range out {
		switch {
		case (a == "-t" || a == "--timeout") && i+1 < len(out) && isNumber(out[i+1]):
			out[i+1] += "s"
		case strings.HasPrefix(a, "--timeout=") && isNumber(strings.TrimPrefix(a, "--timeout=")):
			out[i] += "s"
		}
	}
	return out
}

// usage prints the commands and flags.
func usage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: beatmqctl [flags] <command> [arguments]\n\n")
	fmt.Fprintf(w, "Manages a running beatmq broker through its management HTTP API,\n")
	fmt.Fprintf(w, "with rabbitmqctl's command names, arguments and output.\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	fmt.Fprintf(w, "\nExit codes: 0 ok, 64 usage, 65 bad argument value, 66 not found, 69 broker unreachable,\n"+
		"70 broker error, 75 timeout, 77 credentials refused.\n")
}
