package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// tableFlags configure the table subcommand.
type tableFlags struct {
	names   []string
	context bool
}

func (f *tableFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.names, "name", nil, "label=Display name for a column heading (repeatable)")
	fs.BoolVar(&f.context, "context", true, "include context figures (those with no better direction)")
}

// readResults reads result JSON lines; other lines are ignored.
func readResults(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, err
		}
		if res.Bench == "" {
			continue
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// runTable renders result lines from the files (or stdin) as one Markdown
// table: a row per figure, a column per target (others first, the baseline
// last) and a ratio column per non-baseline target.
func runTable(f *tableFlags, files []string, stdin io.Reader, w io.Writer) error {
	var all []result
	if len(files) == 0 {
		rs, err := readResults(stdin)
		if err != nil {
			return err
		}
		all = rs
	}
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			return err
		}
		rs, err := readResults(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, rs...)
	}
	if len(all) == 0 {
		return fmt.Errorf("no result lines found")
	}
	display := map[string]string{}
	for _, s := range f.names {
		if l, n, ok := strings.Cut(s, "="); ok {
			display[l] = n
		}
	}
	writeMarkdown(w, all, display, f.context)
	return nil
}

func writeMarkdown(w io.Writer, all []result, display map[string]string, withContext bool) {
	name := func(l string) string {
		if n, ok := display[l]; ok {
			return n
		}
		return l
	}
	// Columns: every label, non-baselines first, in order of appearance.
	var cols, bases []string
	for _, r := range all {
		for _, c := range r.columns() {
			if c == r.Baseline && len(r.Targets) > 1 {
				if !slices.Contains(bases, c) {
					bases = append(bases, c)
				}
				continue
			}
			if !slices.Contains(cols, c) && !slices.Contains(bases, c) {
				cols = append(cols, c)
			}
		}
	}
	cols = slices.DeleteFunc(cols, func(c string) bool { return slices.Contains(bases, c) })
	type ratioCol struct{ num, base string }
	var ratios []ratioCol
	for _, r := range all {
		for _, c := range r.Targets {
			rc := ratioCol{c, r.Baseline}
			if c != r.Baseline && !slices.Contains(ratios, rc) {
				ratios = append(ratios, rc)
			}
		}
	}
	cols = append(cols, bases...)
	head := []string{"measurement", "figure"}
	for _, c := range cols {
		head = append(head, name(c))
	}
	for _, rc := range ratios {
		head = append(head, name(rc.num)+" ÷ "+name(rc.base))
	}
	fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat(" --- |", 2)+strings.Repeat(" ---: |", len(head)-2))
	var notes []string
	for _, r := range all {
		for _, m := range r.Metrics {
			if m.Better == "" && !withContext {
				continue
			}
			fig := m.Name + " (" + m.Unit
			switch m.Better {
			case "lower":
				fig += ", lower is better"
			case "higher":
				fig += ", higher is better"
			}
			fig += ")"
			row := []string{r.Title, fig}
			for _, c := range cols {
				if slices.Contains(r.Targets, c) {
					row = append(row, fmtMedian(m, c))
				} else {
					row = append(row, "")
				}
			}
			for _, rc := range ratios {
				if rc.base == r.Baseline && slices.Contains(r.Targets, rc.num) {
					row = append(row, fmtRatio(m, rc.num))
				} else {
					row = append(row, "")
				}
			}
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
		for _, t := range r.Targets {
			for _, e := range r.Errors[t] {
				notes = append(notes, fmt.Sprintf("%s on %s: %s", r.Title, name(t), e))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Failed runs:")
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "- "+strings.ReplaceAll(n, "|", "\\|"))
		}
	}
}
