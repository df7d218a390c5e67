//go:build !unix

package alarm

import "errors"

// freeBytes is not implemented off Unix: the disk monitor does not start.
func freeBytes(string) (uint64, error) {
	return 0, errors.New("free disk space monitoring is not supported on this platform")
}
