package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// target is one broker under test.
type target struct {
	Label string
	URL   string
	EP    endpoint
	// PID is the broker's process id (0: unknown; memory and CPU are then not
	// measured).
	PID int
	// Restart, when set, is a shell command run before every run on this target;
	// it must leave a fresh broker listening on URL and print its pid as the last
	// line of its standard output.
	Restart string
}

// commonFlags are the flags every measuring subcommand takes.
type commonFlags struct {
	targets  []string
	pids     []string
	restarts []string
	runs     int
	pause    time.Duration
	jsonOut  string
	cpuProf  string
}

func (c *commonFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.targets, "target", nil, "broker to measure as label=amqp://user:pass@host:port/vhost (repeatable; the first is the baseline for ratios)")
	fs.StringArrayVar(&c.pids, "pid", nil, "broker process id as label=PID, for memory and CPU (repeatable)")
	fs.StringArrayVar(&c.restarts, "restart", nil, "label=CMD: shell command run before each run on that target to start a fresh broker; its last stdout line is the new pid (repeatable)")
	fs.IntVar(&c.runs, "runs", 1, "runs per target, alternating targets (A B A B); figures are medians over runs")
	fs.DurationVar(&c.pause, "pause", 3*time.Second, "pause before each run, so the previous run's teardown (thousands of closes) settles")
	fs.StringVar(&c.jsonOut, "json-out", "", "also append the final JSON line to this file")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write beatbench's own CPU profile to this file (to see what the client costs)")
}

// splitLabel splits "label=value"; a value without a label gets def as label.
func splitLabel(s, def string) (label, value string) {
	if i := strings.Index(s, "="); i > 0 && !strings.Contains(s[:i], ":") && !strings.Contains(s[:i], "/") {
		return s[:i], s[i+1:]
	}
	return def, s
}

// parseTargets turns the common flags into targets, in the order given.
func (c *commonFlags) parseTargets() ([]*target, error) {
	if len(c.targets) == 0 {
		return nil, fmt.Errorf("at least one --target label=amqp://... is needed")
	}
	if c.runs < 1 {
		return nil, fmt.Errorf("--runs must be at least 1")
	}
	var ts []*target
	byLabel := map[string]*target{}
	for i, s := range c.targets {
		label, url := splitLabel(s, fmt.Sprintf("target%d", i+1))
		if byLabel[label] != nil {
			return nil, fmt.Errorf("--target: label %q given twice", label)
		}
		ep, err := parseEndpoint(url)
		if err != nil {
			return nil, fmt.Errorf("--target %s: %w", label, err)
		}
		t := &target{Label: label, URL: url, EP: ep}
		ts = append(ts, t)
		byLabel[label] = t
	}
	lookup := func(flag, s string) (*target, string, error) {
		def := ""
		if len(ts) == 1 {
			def = ts[0].Label
		}
		label, v := splitLabel(s, def)
		t := byLabel[label]
		if t == nil {
			return nil, "", fmt.Errorf("--%s %q: no --target labelled %q", flag, s, label)
		}
		return t, v, nil
	}
	for _, s := range c.pids {
		t, v, err := lookup("pid", s)
		if err != nil {
			return nil, err
		}
		pid, err := strconv.Atoi(v)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("--pid %q: not a process id", s)
		}
		t.PID = pid
	}
	for _, s := range c.restarts {
		t, v, err := lookup("restart", s)
		if err != nil {
			return nil, err
		}
		t.Restart = v
	}
	return ts, nil
}

// restart runs the target's restart command and adopts the pid it prints.
func (t *target) restart(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", t.Restart)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("restart %s: %w", t.Label, err)
	}
	lines := strings.Fields(out.String())
	if len(lines) == 0 {
		return fmt.Errorf("restart %s: the command printed no pid", t.Label)
	}
	pid, err := strconv.Atoi(lines[len(lines)-1])
	if err != nil || pid <= 0 {
		return fmt.Errorf("restart %s: last output %q is not a pid", t.Label, lines[len(lines)-1])
	}
	t.PID = pid
	return nil
}
