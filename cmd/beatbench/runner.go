package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// benchmark is one configured subcommand.
type benchmark struct {
	Name    string
	Title   string
	Params  map[string]string
	Metrics []metricDef
	// Run measures one target once; run counts from 1.
	Run func(ctx context.Context, t *target, run int) (runValues, error)
}

var logMu sync.Mutex

// logf prints a progress line on stderr.
func logf(format string, args ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(os.Stderr, "beatbench %s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// errIncomplete is returned when a target had no successful run.
type errIncomplete []string

func (e errIncomplete) Error() string {
	return "no successful run on " + strings.Join(e, ", ")
}

// execute runs b on every target, runs times, alternating targets (A B A B), then
// prints the table and the JSON line.
func execute(ctx context.Context, b *benchmark, c *commonFlags) error {
	targets, err := c.parseTargets()
	if err != nil {
		return err
	}
	res := newResult(b.Name, b.Title, b.Params, b.Metrics, targets, c.runs)
	logf("%s: %d run(s) on %s", b.Title, c.runs, strings.Join(res.Targets, ", "))
	for run := 1; run <= c.runs && ctx.Err() == nil; run++ {
		for _, t := range targets {
			if ctx.Err() != nil {
				break
			}
			tag := fmt.Sprintf("[%s %s run %d/%d]", b.Name, t.Label, run, c.runs)
			if (run > 1 || t != targets[0]) && c.pause > 0 {
				if sleepCtx(ctx, c.pause) != nil {
					break
				}
			}
			if t.Restart != "" {
				logf("%s starting a fresh broker", tag)
				if err := t.restart(ctx); err != nil {
					logf("%s %v", tag, err)
					res.addError(t.Label, fmt.Errorf("run %d: %w", run, err))
					continue
				}
				logf("%s broker pid %d", tag, t.PID)
			}
			v, err := b.Run(withTag(ctx, tag), t, run)
			if err != nil {
				logf("%s failed: %v", tag, err)
				res.addError(t.Label, fmt.Errorf("run %d: %w", run, err))
				continue
			}
			res.add(t.Label, v)
			logf("%s %s", tag, formatValues(b.Metrics, v))
		}
	}
	res.finish()
	if err := res.emit(c.jsonOut); err != nil {
		return err
	}
	var missing errIncomplete
	for _, l := range res.Targets {
		ok := false
		for _, m := range res.Metrics {
			if len(m.Values[l]) > 0 {
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, l)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(missing) > 0 {
		return missing
	}
	return nil
}

func formatValues(defs []metricDef, v runValues) string {
	var parts []string
	seen := map[string]bool{}
	for _, d := range defs {
		if x, ok := v[d.Name]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", d.Name, fmtNum(x)))
			seen[d.Name] = true
		}
	}
	var extra []string
	for k := range v {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		parts = append(parts, fmt.Sprintf("%s=%s", k, fmtNum(v[k])))
	}
	return strings.Join(parts, " ")
}

type tagKey struct{}

func withTag(ctx context.Context, tag string) context.Context {
	return context.WithValue(ctx, tagKey{}, tag)
}

// progressf logs a progress line prefixed with the current run's tag.
func progressf(ctx context.Context, format string, args ...any) {
	tag, _ := ctx.Value(tagKey{}).(string)
	logf("%s %s", tag, fmt.Sprintf(format, args...))
}
