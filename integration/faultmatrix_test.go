//go:build integration

package integration

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// matrixDocEnv, when set, runs the full fault matrix and writes its tables
// into that Markdown file (`make fault-matrix`: docs/client-fault-matrix.md).
const matrixDocEnv = "BEATMQ_FAULT_MATRIX"

// cellOutcome is what one client did under one cell: one probe, or for
// slow-heartbeats one per factor tried, in order.
type cellOutcome struct {
	Steps []sweepStep
}

// sweepStep is one probe of a cell (Factor 0 outside slow-heartbeats).
type sweepStep struct {
	Factor float64
	R      *probeResult
}

// Last is the outcome's last probe.
func (o *cellOutcome) Last() *probeResult { return o.Steps[len(o.Steps)-1].R }

// matrixResults collects the outcomes of a run, client → cell ID.
type matrixResults struct {
	mu  sync.Mutex
	out map[string]map[string]*cellOutcome
}

func (m *matrixResults) record(client, cell string, o *cellOutcome) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out[client] == nil {
		m.out[client] = map[string]*cellOutcome{}
	}
	m.out[client][cell] = o
}

// TestFaultMatrix injects each fault kind into a connection of each client
// library (negotiated heartbeat T = 2 s) through the management API and
// records what the client reports and what the broker does, with times
// counted from the fault. `make integration` runs three cells for every
// client — half-open, reset and a freeze-out of T/2 — and asserts what must
// hold whatever the client; with BEATMQ_FAULT_MATRIX=path (`make
// fault-matrix`) it runs every cell and writes the tables into that file.
func TestFaultMatrix(t *testing.T) {
	b := broker(t)
	bt, ok := b.(*beatmqTarget)
	if !ok {
		t.Skip("fault injection is beatmq's own: a RabbitMQ node has none")
	}
	doc := os.Getenv(matrixDocEnv)
	cells := ciCells
	if doc != "" {
		cells = matrixCells
	}
	results := &matrixResults{out: map[string]map[string]*cellOutcome{}}
	began := time.Now()
	t.Run("cells", func(t *testing.T) {
		for _, c := range clients {
			for _, cell := range cells {
				t.Run(c.Name+"/"+cell.ID, func(t *testing.T) {
					t.Parallel()
					slot(t)
					o := runCell(t, bt, c, cell)
					results.record(c.Name, cell.ID, o)
					for _, st := range o.Steps {
						if st.R.Problem != "" {
							t.Errorf("%s: %s", cell.ID, st.R.Problem)
						}
					}
					if cell.Check != nil && o.Last().Problem == "" {
						cell.Check(t, o.Last())
					}
				})
			}
		}
	})
	took := time.Since(began)
	tables := renderMatrix(results, cells, took)
	fmt.Printf("\nfault matrix (T = %v, %.0fs):\n%s\n", matrixT, took.Seconds(), tables)
	if doc != "" {
		if err := writeMatrixDoc(doc, tables); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("fault matrix written to %s\n", doc)
	}
}

// runCell runs cell for client c: one probe, or slow-heartbeats factors in
// increasing order until the client notices one.
func runCell(t *testing.T, b *beatmqTarget, c *client, cell matrixCell) *cellOutcome {
	o := &cellOutcome{}
	if cell.Factors == nil {
		name := fmt.Sprintf("fm-%s-%s", c.Name, cell.ID)
		o.Steps = append(o.Steps, sweepStep{R: runProbe(t, b, c, name, cell.Probe(c.Name))})
		return o
	}
	for _, k := range cell.Factors {
		name := fmt.Sprintf("fm-%s-%s-k%s", c.Name, cell.ID, strconv.FormatFloat(k, 'f', -1, 64))
		r := runProbe(t, b, c, name, slowProbe(c.Name, k))
		o.Steps = append(o.Steps, sweepStep{Factor: k, R: r})
		t.Logf("%s: k=%v: detected %v after %.2fs (%s)", c.Name, k, r.Detected, r.DetectAfter.Seconds(), r.Error)
		if r.Detected || r.Problem != "" {
			break
		}
	}
	return o
}
