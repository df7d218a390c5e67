package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestExecuteAlternatesTargets(t *testing.T) {
	var order []string
	b := &benchmark{
		Name: "fake", Title: "fake", Metrics: []metricDef{{"x", "u", "higher", ""}},
		Run: func(_ context.Context, tg *target, run int) (runValues, error) {
			order = append(order, tg.Label)
			if tg.Label == "b" && run == 2 {
				return nil, errors.New("boom")
			}
			return runValues{"x": float64(run)}, nil
		},
	}
	out := t.TempDir() + "/r.jsonl"
	c := &commonFlags{targets: []string{"a=amqp://h:1/", "b=amqp://h:2/"}, runs: 3, jsonOut: out}
	stdout := os.Stdout
	devnull, _ := os.Open(os.DevNull)
	os.Stdout = devnull
	err := execute(context.Background(), b, c)
	os.Stdout = stdout
	devnull.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ""); got != "ababab" {
		t.Fatalf("run order %q", got)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := readResults(f)
	if err != nil || len(rs) != 1 {
		t.Fatalf("results %v %v", rs, err)
	}
	m := rs[0].Metrics[0]
	if m.Median["a"] != 2 || m.Median["b"] != 2 || len(m.Values["b"]) != 2 || len(rs[0].Errors["b"]) != 1 {
		t.Fatalf("metric %+v errors %v", m, rs[0].Errors)
	}
}

func TestExecuteReportsTargetWithoutSuccess(t *testing.T) {
	b := &benchmark{
		Name: "fake", Title: "fake", Metrics: []metricDef{{"x", "u", "", ""}},
		Run: func(context.Context, *target, int) (runValues, error) { return nil, errors.New("down") },
	}
	stdout := os.Stdout
	devnull, _ := os.Open(os.DevNull)
	os.Stdout = devnull
	err := execute(context.Background(), b, &commonFlags{targets: []string{"a=amqp://h:1/"}, runs: 1})
	os.Stdout = stdout
	devnull.Close()
	var inc errIncomplete
	if !errors.As(err, &inc) || inc[0] != "a" {
		t.Fatalf("err = %v", err)
	}
}
