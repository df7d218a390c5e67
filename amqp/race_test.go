//go:build race

package amqp

// raceEnabled is set under -race, whose instrumentation changes allocation counts.
const raceEnabled = true
