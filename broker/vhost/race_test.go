//go:build race

package vhost

// raceEnabled is set under -race, whose instrumentation changes allocation counts.
const raceEnabled = true
