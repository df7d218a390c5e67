//go:build integration

package integration

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
)

// Columns of the results table.
const (
	colRoundtrip   = "1 roundtrip hb5"
	colNegotiation = "2 negotiation"
	colIdle        = "3 idle hb1"
	colBrokerQuiet = "4a broker silent"
	colClientQuiet = "4b client silent"
	colLog         = "5 log lines"
)

var columns = []string{colRoundtrip, colNegotiation, colIdle, colBrokerQuiet, colClientQuiet, colLog}

// clientOrder is the row order of the tables.
var clientOrder = []string{"go", "java", "amqplib", "pika", "bunny", "pyamqp", "amqp-tools"}

// resultsTable collects what every scenario saw, printed at the end of the run.
type resultsTable struct {
	mu          sync.Mutex
	status      map[string]map[string]string // column → client → ok/FAIL + short detail
	negotiation map[string]map[int]string    // client → ask → "client/broker"
	detection   map[string][2]string         // client → [4a detection, 4b broker close]
	errors      map[string][2]string         // client → [4a client error, 4b client error]
	logs        map[string]map[string]string // client → scenario → events found
	logFails    map[string][]string          // client → scenarios whose log check failed
}

var table = &resultsTable{
	status:      map[string]map[string]string{},
	negotiation: map[string]map[int]string{},
	detection:   map[string][2]string{},
	errors:      map[string][2]string{},
	logs:        map[string]map[string]string{},
	logFails:    map[string][]string{},
}

// cell records the subtest's outcome in column col for client when it ends;
// detail is read at that time.
func cell(t *testing.T, col, client string, detail *string) {
	t.Cleanup(func() {
		st := "ok"
		if t.Failed() {
			st = "FAIL"
		}
		if *detail != "" {
			st += " " + *detail
		}
		table.mu.Lock()
		defer table.mu.Unlock()
		if table.status[col] == nil {
			table.status[col] = map[string]string{}
		}
		table.status[col][client] = st
	})
}

func recordNegotiation(client string, ask int, v string) {
	table.mu.Lock()
	defer table.mu.Unlock()
	if table.negotiation[client] == nil {
		table.negotiation[client] = map[int]string{}
	}
	table.negotiation[client][ask] = v
}

func recordDetection(client string, i int, timing, errText string) {
	table.mu.Lock()
	defer table.mu.Unlock()
	d, e := table.detection[client], table.errors[client]
	d[i], e[i] = timing, errText
	table.detection[client], table.errors[client] = d, e
}

// recordLog records the log lines found for a client's connection in a scenario
// and whether they passed the format checks (err).
func recordLog(client, scenario string, cl *connLog, err error) {
	table.mu.Lock()
	defer table.mu.Unlock()
	if table.logs[client] == nil {
		table.logs[client] = map[string]string{}
	}
	table.logs[client][scenario] = eventSummary(cl)
	if err != nil {
		table.logFails[client] = append(table.logFails[client], scenario)
	}
}

// logColumn fills column 5 from what recordLog collected.
func (r *resultsTable) logColumn() {
	if r.status[colLog] == nil {
		r.status[colLog] = map[string]string{}
	}
	for c, m := range r.logs {
		if f := r.logFails[c]; len(f) > 0 {
			r.status[colLog][c] = fmt.Sprintf("FAIL in %s", strings.Join(f, ", "))
		} else {
			r.status[colLog][c] = fmt.Sprintf("ok (%d scenarios)", len(m))
		}
	}
}

func (r *resultsTable) clients() []string {
	seen := map[string]bool{}
	for _, m := range r.status {
		for c := range m {
			seen[c] = true
		}
	}
	for c := range r.negotiation {
		seen[c] = true
	}
	var out []string
	for _, c := range clientOrder {
		for _, row := range []string{c, c + " tls"} { // a client's TLS row follows its TCP row
			if seen[row] {
				out = append(out, row)
				delete(seen, row)
			}
		}
	}
	var rest []string
	for c := range seen {
		rest = append(rest, c)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// print writes the tables (Markdown, so a closing note can quote them).
func (r *resultsTable) print(w io.Writer, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logColumn()
	clients := r.clients()
	if len(clients) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Interop results against %s\n\n", kind)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "| client\t| %s\t|\n", strings.Join(columns, "\t| "))
	fmt.Fprintf(tw, "|%s\n", strings.Repeat(" ---\t|", len(columns)+1))
	for _, c := range clients {
		row := []string{c}
		for _, col := range columns {
			v := r.status[col][c]
			if v == "" {
				v = "-"
			}
			row = append(row, v)
		}
		fmt.Fprintf(tw, "| %s\t|\n", strings.Join(row, "\t| "))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nNegotiated heartbeat, client's value / broker's value (expected, from rabbitmq-observed.md §1 or measured):\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	hdr := []string{"client"}
	for _, a := range negotiationAsks {
		hdr = append(hdr, fmt.Sprintf("asks %d", a))
	}
	fmt.Fprintf(tw, "| %s\t|\n", strings.Join(hdr, "\t| "))
	fmt.Fprintf(tw, "|%s\n", strings.Repeat(" ---\t|", len(hdr)))
	for _, c := range clients {
		row := []string{c}
		for _, a := range negotiationAsks {
			v := r.negotiation[c][a]
			if v == "" {
				v = "-"
			}
			if exp, ok := negotiationExpected[strings.TrimSuffix(c, " tls")][a]; ok {
				v += fmt.Sprintf(" (%d)", exp)
			}
			row = append(row, v)
		}
		fmt.Fprintf(tw, "| %s\t|\n", strings.Join(row, "\t| "))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nDead peers: 4a = broker→client dropped (hb 1 s): client's detection time after the last octet it received, and its error; 4b = client→broker dropped (hb 2 s): broker's close after the last octet it received, and what the client saw:\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "| client\t| 4a detected after\t| 4a client error\t| 4b broker closed after\t| 4b client error\t|\n")
	fmt.Fprintf(tw, "|%s\n", strings.Repeat(" ---\t|", 5))
	for _, c := range clients {
		d, e := r.detection[c], r.errors[c]
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %s\t|\n", c, dash(d[0]), dash(e[0]), dash(d[1]), dash(e[1]))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nBroker log lines found per connection, each checked against RabbitMQ 3.10.8's format (rabbitmq-observed.md §2, §5):\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	scen := []string{"roundtrip", "negotiation", "idle", "4a", "4b"}
	fmt.Fprintf(tw, "| client\t| %s\t|\n", strings.Join(scen, "\t| "))
	fmt.Fprintf(tw, "|%s\n", strings.Repeat(" ---\t|", len(scen)+1))
	for _, c := range clients {
		row := []string{c}
		for _, s := range scen {
			row = append(row, dash(r.logs[c][s]))
		}
		fmt.Fprintf(tw, "| %s\t|\n", strings.Join(row, "\t| "))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	// Keep table cells on one line.
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", "/")
}

// writeResults prints the tables to stdout and, if BEATMQ_RESULTS_FILE is set,
// to that file too.
func writeResults(kind string) {
	table.print(os.Stdout, kind)
	if p := os.Getenv("BEATMQ_RESULTS_FILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			table.print(f, kind)
			f.Close()
		}
	}
}
