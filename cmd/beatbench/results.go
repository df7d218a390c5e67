package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// metricDef describes one figure a benchmark reports.
type metricDef struct {
	Name   string `json:"name"`
	Unit   string `json:"unit"`
	Better string `json:"better,omitempty"` // "lower", "higher", or empty for context figures
	Desc   string `json:"desc"`
}

// runValues are the figures of one run on one target, by metric name.
type runValues map[string]float64

// metricResult is one figure over all runs and targets.
type metricResult struct {
	metricDef
	Values map[string][]float64 `json:"values"`          // per target, one per successful run
	Median map[string]float64   `json:"median"`          // per target
	Ratio  map[string]float64   `json:"ratio,omitempty"` // per non-baseline target: its median / the baseline's
}

// result is the outcome of one subcommand: the final JSON line.
type result struct {
	Bench    string              `json:"bench"`
	Title    string              `json:"title"`
	Params   map[string]string   `json:"params"`
	Baseline string              `json:"baseline"`
	Targets  []string            `json:"targets"`
	Runs     int                 `json:"runs"`
	Started  time.Time           `json:"started"`
	Seconds  float64             `json:"seconds"`
	Metrics  []metricResult      `json:"metrics"`
	Errors   map[string][]string `json:"errors,omitempty"`
}

// newResult prepares an empty result for the given targets.
func newResult(bench, title string, params map[string]string, defs []metricDef, targets []*target, runs int) *result {
	r := &result{Bench: bench, Title: title, Params: params, Runs: runs, Started: time.Now().UTC().Truncate(time.Second)}
	for _, t := range targets {
		r.Targets = append(r.Targets, t.Label)
	}
	r.Baseline = r.Targets[0]
	for _, d := range defs {
		r.Metrics = append(r.Metrics, metricResult{metricDef: d, Values: map[string][]float64{}, Median: map[string]float64{}})
	}
	return r
}

// add records one run's figures for a target; NaN and missing figures are skipped.
func (r *result) add(label string, v runValues) {
	for i := range r.Metrics {
		m := &r.Metrics[i]
		if x, ok := v[m.Name]; ok && !math.IsNaN(x) && !math.IsInf(x, 0) {
			m.Values[label] = append(m.Values[label], x)
		}
	}
}

// addError records a failed run.
func (r *result) addError(label string, err error) {
	if r.Errors == nil {
		r.Errors = map[string][]string{}
	}
	r.Errors[label] = append(r.Errors[label], err.Error())
}

// finish computes medians and ratios.
func (r *result) finish() {
	r.Seconds = math.Round(time.Since(r.Started).Seconds())
	for i := range r.Metrics {
		m := &r.Metrics[i]
		for label, xs := range m.Values {
			if len(xs) > 0 {
				m.Median[label] = median(xs)
			}
		}
		base, ok := m.Median[r.Baseline]
		if !ok || base == 0 {
			continue
		}
		for label, x := range m.Median {
			if label == r.Baseline {
				continue
			}
			if m.Ratio == nil {
				m.Ratio = map[string]float64{}
			}
			m.Ratio[label] = x / base
		}
	}
}

// columns returns the targets in table order: the others first, the baseline
// last, so that a "new vs reference" comparison reads left to right.
func (r *result) columns() []string {
	var cols []string
	for _, t := range r.Targets {
		if t != r.Baseline {
			cols = append(cols, t)
		}
	}
	return append(cols, r.Baseline)
}

// writeText prints the result as an aligned table.
func (r *result) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s (runs: %d", r.Title, r.Runs)
	if r.Runs > 1 {
		fmt.Fprint(w, ", medians")
	}
	fmt.Fprintln(w, ")")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cols := r.columns()
	head := []string{"figure", "unit"}
	head = append(head, cols...)
	for _, c := range cols[:len(cols)-1] {
		head = append(head, c+"/"+r.Baseline)
	}
	head = append(head, "better")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, m := range r.Metrics {
		row := []string{m.Name, m.Unit}
		for _, c := range cols {
			row = append(row, fmtMedian(m, c))
		}
		for _, c := range cols[:len(cols)-1] {
			row = append(row, fmtRatio(m, c))
		}
		row = append(row, m.Better)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
	for _, t := range r.Targets {
		for _, e := range r.Errors[t] {
			fmt.Fprintf(w, "error on %s: %s\n", t, e)
		}
	}
}

func fmtMedian(m metricResult, label string) string {
	x, ok := m.Median[label]
	if !ok {
		return "–"
	}
	return fmtNum(x)
}

func fmtRatio(m metricResult, label string) string {
	x, ok := m.Ratio[label]
	if !ok {
		return "–"
	}
	switch {
	case x >= 10:
		return fmt.Sprintf("%.0f×", x)
	case x >= 0.1:
		return fmt.Sprintf("%.2f×", x)
	default:
		return fmt.Sprintf("%.3f×", x)
	}
}

// fmtNum prints a figure with about three significant digits and thousands
// separators.
func fmtNum(x float64) string {
	ax := math.Abs(x)
	switch {
	case x == math.Trunc(x) && ax < 1e15:
		return groupThousands(fmt.Sprintf("%.0f", x))
	case ax >= 100:
		return groupThousands(fmt.Sprintf("%.0f", x))
	case ax >= 10:
		return fmt.Sprintf("%.1f", x)
	case ax >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3g", x)
	}
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// emit prints the text table and the final JSON line on stdout, and appends the
// JSON line to jsonOut when set.
func (r *result) emit(jsonOut string) error {
	r.writeText(os.Stdout)
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	if jsonOut != "" {
		f, err := os.OpenFile(jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}
