// Command beatbench is beatmq's load tool: it measures AMQP 0-9-1 brokers side
// by side (beatmq, RabbitMQ, or any other) on the measurements of
// BENCHMARKS.md — idle connection cost, dead-peer detection, throughput
// (transient or persistent), heartbeats under load, recovery after a
// restart, and bounded memory (a flooding publisher, a large backlog) —
// alternating targets run by run and reporting medians
// and ratios against the first target.
//
// Usage:
//
//	beatbench idle|detect|throughput|underload|recovery|flood|backlog --target label=amqp://... [--pid label=PID] [--runs N] [flags]
//	beatbench table [results.jsonl ...]
//
// Progress goes to standard error; standard output gets a table and, last, one
// JSON line with every run's figures.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/pflag"
)

const usage = `beatbench measures AMQP 0-9-1 brokers side by side.

usage: beatbench COMMAND --target label=amqp://user:pass@host:port/ [--target ...] [flags]

commands:
  idle        N raw connections answering heartbeats, held for D: broker RSS and CPU per connection
  detect      N connections go silent: time from last octet to the broker's close, in units of T
  throughput  one publisher, one consumer, one queue: msgs/s and end-to-end latency
  underload   saturating publisher + slow consumer at T=1s: false closes, largest heartbeat gap
  recovery    fill durable queues with persistent messages, stop and start the broker: time to serve, RSS
  flood       publisher flat out with confirms + slow consumer + idle watcher: broker RSS, messages kept, heartbeat gaps
  backlog     build a backlog of N messages with no consumer, then drain it: rates, peak RSS, counts
  table       render JSON result lines (files or stdin) as a Markdown table

common flags:
  --target label=URL   broker to measure (repeatable; the first is the baseline for ratios)
  --pid label=PID      broker process id, for memory and CPU (idle, flood, backlog)
  --restart label=CMD  command run before each run to start a fresh broker; prints its pid last
  --runs N             runs per target, A B A B; figures are medians
  --json-out FILE      append the final JSON line to FILE

"beatbench COMMAND --help" lists a command's own flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "beatbench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := pflag.NewFlagSet("beatbench "+cmd, pflag.ContinueOnError)
	fs.SortFlags = false
	var common commonFlags
	var build func() (*benchmark, error)
	switch cmd {
	case "idle":
		var f idleFlags
		f.register(fs)
		build = func() (*benchmark, error) { return newIdleBench(&f) }
	case "detect":
		var f detectFlags
		f.register(fs)
		build = func() (*benchmark, error) { return newDetectBench(&f) }
	case "throughput":
		var f throughputFlags
		f.register(fs)
		build = func() (*benchmark, error) { return newThroughputBench(&f) }
	case "underload":
		var f underloadFlags
		f.register(fs)
		build = func() (*benchmark, error) { return newUnderloadBench(&f) }
	case "recovery":
		var f recoveryFlags
		f.register(fs)
		build = func() (*benchmark, error) { return newRecoveryBench(&f) }
	case "flood":
		var f floodFlags
		f.register(fs)
		build = func() (*benchmark, error) { return newFloodBench(&f) }
	case "backlog":
		var f backlogFlags
		f.register(fs)
		build = func() (*benchmark, error) { return newBacklogBench(&f) }
	case "table":
		var f tableFlags
		f.register(fs)
		if err := fs.Parse(args); err != nil {
			return err
		}
		return runTable(&f, fs.Args(), os.Stdin, os.Stdout)
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	common.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if limit, err := raiseNoFile(); err != nil {
		logf("raising the open-file limit: %v (limit %d)", err, limit)
	} else {
		logf("open-file limit %d", limit)
	}
	b, err := build()
	if err != nil {
		return err
	}
	if common.cpuProf != "" {
		f, err := os.Create(common.cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return execute(ctx, b, &common)
}
