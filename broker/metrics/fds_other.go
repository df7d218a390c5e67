//go:build !linux

package metrics

// fdCounts are the process's open file descriptors and their limit; -1
// when unknown.
type fdCounts struct{ open, max int64 }

// readFDs knows nothing outside Linux.
func readFDs() fdCounts { return fdCounts{open: -1, max: -1} }
