package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/beatmq/beatmq/broker/mgmt"
)

// faultKinds are the kinds the broker takes, for usage (the broker checks).
const faultKinds = "mute-heartbeats, slow-heartbeats, freeze-out, freeze-in, half-open, latency, reset"

// cmdFault is beatmqctl fault <name> <kind> [--for D] [--factor K]
// [--latency D] and beatmqctl fault <name> clear: PUT or DELETE on
// /api/beatmq/connections/{name}/fault.
func cmdFault(e *env, args []string) error {
	if len(args) != 2 {
		return errorf(exitUsage, "fault takes two arguments, the connection name and a fault kind (%s) or clear (got %d)", faultKinds, len(args))
	}
	name, kind := args[0], args[1]
	notFound := fmt.Sprintf("no connection named %q (list_connections name shows the names)", name)
	if kind == "clear" {
		if e.opts.faultFor != "" || e.opts.faultFactor != "" || e.opts.faultLatency != "" {
			return errorf(exitUsage, "fault %s clear takes no --for, --factor or --latency", name)
		}
		e.banner("Clearing the fault of connection %s ...", name)
		_, _, err := e.api.do(http.MethodDelete, mgmt.FaultPath(name), nil, nil, notFound)
		return err
	}
	body := mgmt.FaultBody{Kind: kind}
	var err error
	if body.For, err = durationArg("--for", e.opts.faultFor); err != nil {
		return err
	}
	if body.Latency, err = durationArg("--latency", e.opts.faultLatency); err != nil {
		return err
	}
	if e.opts.faultFactor != "" {
		f, err := strconv.ParseFloat(e.opts.faultFactor, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return errorf(exitUsage, "--factor %q: want a number", e.opts.faultFactor)
		}
		body.Factor = f
	}
	data, err := json.Marshal(body)
	if err != nil {
		return errorf(exitSoftware, "encoding the request: %v", err)
	}
	e.banner("Injecting fault %s into connection %s ...", kind, name)
	_, _, err = e.api.do(http.MethodPut, mgmt.FaultPath(name), nil, data, notFound)
	return err
}

// durationArg parses a flag's duration: "250ms", "1m30s", or a bare number
// of seconds; "" is 0.
func durationArg(flag, s string) (mgmt.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		return mgmt.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errorf(exitUsage, "%s %q: want a duration such as 30s or 250ms, or a number of seconds", flag, s)
	}
	return mgmt.Duration(d), nil
}
