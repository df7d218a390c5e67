package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/beatmq/beatmq/cmd/beatmqctl/internal/logscan"
)

// stdin is what inspect-log reads with no FILE or "-" (tests replace it).
var stdin io.Reader = os.Stdin

// inspectLogName is the one command that reads files instead of asking the
// broker; run hands it its arguments before the global flags are parsed.
const inspectLogName = "inspect-log"

// inspectLogIndex returns the position of inspect-log in args if it is the
// command (the first argument that is neither a global flag nor a flag's
// value), else -1.
func inspectLogIndex(fs *pflag.FlagSet, args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) && args[i+1] == inspectLogName {
				return i + 1
			}
			return -1
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if a == inspectLogName {
				return i
			}
			return -1
		}
		if strings.Contains(a, "=") {
			continue
		}
		var f *pflag.Flag
		if strings.HasPrefix(a, "--") {
			f = fs.Lookup(a[2:])
		} else if len(a) == 2 {
			f = fs.ShorthandLookup(a[1:])
		}
		if f != nil && f.NoOptDefVal == "" {
			i++ // the flag's value
		}
	}
	return -1
}

// inspectLogUsage is the help of inspect-log.
const inspectLogUsage = `Usage: beatmqctl inspect-log [flags] [FILE...]

Reads broker logs and summarises, per client name and per peer host, the
connections opened, closed cleanly, closed unexpectedly, closed for missed
heartbeats (with the timeout), handshake timeouts, authentication failures and
late-heartbeat warnings; then a timeline and the worst offenders.

It reads beatmq's text and JSON logs and RabbitMQ 3.8-3.13's own logs (3.8's
lager layout, 3.9+'s, RabbitMQ's JSON formatter), rotated and gzipped files
(gzip is recognised by its magic bytes), in any order: events are put in time
order. With no FILE, or FILE "-", it reads standard input. Connections are
followed by the id on each line (RabbitMQ's pid, beatmq's connection id), so a
close is counted for the name the client gave when it opened. A clean close
after a refused login counts as the authentication failure only.

Flags:
`

// cmdInspectLog is beatmqctl inspect-log.
func cmdInspectLog(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet(inspectLogName, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	since := fs.String("since", "", "count events at or after this time: RFC 3339 (2026-11-24T04:00:00Z) or a duration back from the newest line (2h, 30m, 7d)")
	until := fs.String("until", "", "count events at or before this time (same forms as --since)")
	asJSON := fs.Bool("json", false, "write the summary as one JSON object")
	top := fs.Int("top", 5, "how many worst offenders to list")
	interval := fs.Duration("interval", 0, "timeline bucket (e.g. 1m); 0 picks one for at most 24 buckets")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n\n%s%s", err, inspectLogUsage, fs.FlagUsages())
		return exitUsage
	}
	if *help {
		fmt.Fprintf(stdout, "%s%s", inspectLogUsage, fs.FlagUsages())
		return exitOK
	}
	var o logscan.Options
	var err error
	if o.Since, o.SinceAgo, err = parseWhen(*since); err != nil {
		fmt.Fprintf(stderr, "Error: --since: %v\n", err)
		return exitUsage
	}
	if o.Until, o.UntilAgo, err = parseWhen(*until); err != nil {
		fmt.Fprintf(stderr, "Error: --until: %v\n", err)
		return exitUsage
	}
	if *top < 0 || *interval < 0 {
		fmt.Fprintf(stderr, "Error: --top and --interval must not be negative\n")
		return exitUsage
	}
	o.Top, o.Interval = *top, *interval

	files := fs.Args()
	if len(files) == 0 {
		if f, ok := stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(stderr, "Error: no FILE given and standard input is a terminal\n\n%s%s", inspectLogUsage, fs.FlagUsages())
				return exitUsage
			}
		}
		files = []string{"-"}
	}
	var s logscan.Summarizer
	for _, name := range files {
		var fs logscan.FileStats
		if name == "-" {
			fs = s.Read("(stdin)", stdin)
		} else {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "Error: %v\n", err)
				return exitNotFound
			}
			fs = s.Read(name, f)
			f.Close()
		}
		if fs.Error != "" {
			fmt.Fprintf(stderr, "Warning: %s: %s (the lines before it are counted)\n", fs.Name, fs.Error)
		}
	}
	sum := s.Summary(o)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return exitSoftware
		}
		return exitOK
	}
	writeSummary(stdout, &sum)
	return exitOK
}

// parseWhen reads --since/--until: an RFC 3339 time (also with a space for
// the 'T', or a date alone), or a duration back from the newest line, with
// 'd' for days.
func parseWhen(s string) (time.Time, time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, 0, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, 0, nil
		}
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(d, 64); err == nil && n > 0 {
			return time.Time{}, time.Duration(n * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, 0, errors.New("want an RFC 3339 time (2026-11-24T04:00:00Z) or a positive duration (2h, 30m, 7d), not " + strconv.Quote(s))
	}
	return time.Time{}, d, nil
}

// summaryColumns are the count columns of the text tables.
var summaryColumns = []struct {
	head string
	get  func(*logscan.Counts) string
}{
	{"OPENED", func(c *logscan.Counts) string { return strconv.Itoa(c.Opened) }},
	{"CLEAN", func(c *logscan.Counts) string { return strconv.Itoa(c.ClosedClean) }},
	{"UNEXPECTED", func(c *logscan.Counts) string { return strconv.Itoa(c.ClosedUnexpected) }},
	{"MISSED-HB", func(c *logscan.Counts) string { return missed(c) }},
	{"HANDSHAKE-TO", func(c *logscan.Counts) string { return strconv.Itoa(c.HandshakeTimeouts) }},
	{"AUTH-FAIL", func(c *logscan.Counts) string { return strconv.Itoa(c.AuthFailures) }},
	{"LATE-HB", func(c *logscan.Counts) string { return strconv.Itoa(c.LateHeartbeats) }},
	{"OTHER", func(c *logscan.Counts) string { return strconv.Itoa(c.ClosedOther) }},
}

// missed is "3 (60s×2, 5s×1)": the count and the timeouts.
func missed(c *logscan.Counts) string {
	s := strconv.Itoa(c.MissedHeartbeats)
	if len(c.MissedHeartbeatTimeouts) == 0 {
		return s
	}
	keys := make([]string, 0, len(c.MissedHeartbeatTimeouts))
	for k := range c.MissedHeartbeatTimeouts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, c.MissedHeartbeatTimeouts[k])
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

// writeSummary writes the text report.
func writeSummary(w io.Writer, s *logscan.Summary) {
	fmt.Fprintf(w, "Read %d file(s): %d lines, %d entries, %d unreadable lines\n", len(s.Files), s.Lines, s.Entries, s.Unreadable)
	for _, f := range s.Files {
		gz := ""
		if f.Gzip {
			gz = ", gzip"
		}
		fmt.Fprintf(w, "  %s: %d lines, %d unreadable%s%s\n", f.Name, f.Lines, f.Unreadable, gz, layouts(f.Layouts))
	}
	if s.First != nil {
		fmt.Fprintf(w, "Log from %s to %s\n", stamp(*s.First), stamp(*s.Last))
	}
	if s.Since != nil || s.Until != nil {
		from, to := "the start", "the end"
		if s.Since != nil {
			from = stamp(*s.Since)
		}
		if s.Until != nil {
			to = stamp(*s.Until)
		}
		fmt.Fprintf(w, "Counting from %s to %s\n", from, to)
	}
	fmt.Fprintf(w, "Connections seen: %d\n\nTotals\n", s.Connections)
	table(w, "", []logscan.Group{{Name: "all", Counts: s.Totals}})
	fmt.Fprintf(w, "\nPer client\n")
	table(w, "CLIENT", s.Clients)
	fmt.Fprintf(w, "\nPer peer host\n")
	table(w, "HOST", s.Hosts)

	fmt.Fprintf(w, "\nTimeline (every %s)\n", s.Timeline.Interval)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "START\t")
	for _, c := range summaryColumns {
		fmt.Fprintf(tw, "%s\t", c.head)
	}
	fmt.Fprintln(tw)
	for i := range s.Timeline.Buckets {
		b := &s.Timeline.Buckets[i]
		fmt.Fprintf(tw, "%s\t", stamp(b.Start))
		for _, c := range summaryColumns {
			fmt.Fprintf(tw, "%s\t", c.get(&b.Counts))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nWorst clients (abnormal closes: unexpected + missed heartbeats + handshake timeouts + other)\n")
	offenders(w, s.WorstClients)
	fmt.Fprintf(w, "\nWorst hosts\n")
	offenders(w, s.WorstHosts)
}

func offenders(w io.Writer, gs []logscan.Group) {
	if len(gs) == 0 {
		fmt.Fprintf(w, "  none\n")
		return
	}
	for i, g := range gs {
		fmt.Fprintf(w, "  %d. %s: %d abnormal closes (unexpected %d, missed heartbeats %s, handshake timeouts %d, other %d); auth failures %d, late heartbeats %d\n",
			i+1, g.Name, g.AbnormalCloses, g.ClosedUnexpected, missed(&g.Counts), g.HandshakeTimeouts, g.ClosedOther, g.AuthFailures, g.LateHeartbeats)
	}
}

// table writes groups with the count columns, the name column headed head.
func table(w io.Writer, head string, gs []logscan.Group) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s", head)
	for _, c := range summaryColumns {
		fmt.Fprintf(tw, "\t%s", c.head)
	}
	fmt.Fprintln(tw)
	for i := range gs {
		fmt.Fprintf(tw, "%s", gs[i].Name)
		for _, c := range summaryColumns {
			fmt.Fprintf(tw, "\t%s", c.get(&gs[i].Counts))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func layouts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return " (" + strings.Join(keys, ", ") + ")"
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z07:00") }
