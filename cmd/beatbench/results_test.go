package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func sampleResult() *result {
	defs := []metricDef{
		{"rss_per_conn", "KiB", "lower", "memory"},
		{"hb", "frames/s", "", "context"},
	}
	ts := []*target{{Label: "rabbitmq"}, {Label: "beatmq"}}
	r := newResult("idle", "idle N=1000", map[string]string{"connections": "1000"}, defs, ts, 3)
	r.add("rabbitmq", runValues{"rss_per_conn": 72, "hb": 2})
	r.add("beatmq", runValues{"rss_per_conn": 8, "hb": math.NaN()})
	r.add("rabbitmq", runValues{"rss_per_conn": 80})
	r.add("beatmq", runValues{"rss_per_conn": 6})
	r.add("rabbitmq", runValues{"rss_per_conn": 70})
	r.addError("beatmq", errors.New("run 3: boom | bang"))
	r.finish()
	return r
}

func TestResultMediansAndRatios(t *testing.T) {
	r := sampleResult()
	m := r.Metrics[0]
	if m.Median["rabbitmq"] != 72 || m.Median["beatmq"] != 7 {
		t.Fatalf("medians %v", m.Median)
	}
	if got := m.Ratio["beatmq"]; math.Abs(got-7.0/72) > 1e-12 || len(m.Ratio) != 1 {
		t.Fatalf("ratios %v", m.Ratio)
	}
	if _, ok := r.Metrics[1].Median["beatmq"]; ok {
		t.Fatal("NaN was recorded")
	}
	if cols := r.columns(); strings.Join(cols, ",") != "beatmq,rabbitmq" {
		t.Fatalf("columns %v", cols)
	}
	line, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back result
	if err := json.Unmarshal(line, &back); err != nil || back.Metrics[0].Ratio["beatmq"] != m.Ratio["beatmq"] {
		t.Fatalf("JSON round trip: %v", err)
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	sampleResult().writeText(&b)
	out := b.String()
	for _, want := range []string{"idle N=1000 (runs: 3, medians)", "beatmq/rabbitmq", "0.097×", "error on beatmq: run 3: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestTableMarkdown(t *testing.T) {
	line, _ := json.Marshal(sampleResult())
	in := "progress line\n" + string(line) + "\n"
	var out bytes.Buffer
	f := tableFlags{names: []string{"rabbitmq=RabbitMQ 3.10.8"}, context: true}
	if err := runTable(&f, nil, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"| measurement | figure | beatmq | RabbitMQ 3.10.8 | beatmq ÷ RabbitMQ 3.10.8 |",
		"| idle N=1000 | rss_per_conn (KiB, lower is better) | 7 | 72 | 0.097× |",
		"| idle N=1000 | hb (frames/s) | – | 2 | – |",
		`boom \| bang`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	f.context = false
	out.Reset()
	_ = runTable(&f, nil, strings.NewReader(in), &out)
	if strings.Contains(out.String(), "| hb ") {
		t.Error("context figure shown with --context=false")
	}
	if err := runTable(&f, nil, strings.NewReader("nothing\n"), &out); err == nil {
		t.Error("no results: no error")
	}
}

func TestFmtNum(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{{96123.4, "96,123"}, {1000, "1,000"}, {72.54, "72.5"}, {2.534, "2.53"}, {0.5071, "0.507"}, {0, "0"}, {-1234, "-1,234"}} {
		if got := fmtNum(c.x); got != c.want {
			t.Errorf("fmtNum(%v) = %q, want %q", c.x, got, c.want)
		}
	}
}
