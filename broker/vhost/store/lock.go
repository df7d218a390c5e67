package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked is wrapped by the error Open returns when another Store (in
// this process or another) holds the directory.
var ErrLocked = errors.New("store: directory locked")

const lockName = ".lock"

// lockDir takes an exclusive, non-blocking flock on dir/.lock. The lock
// goes with the open file description, so it is released when the file is
// closed or the process dies (kill -9 included): no stale lock files.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is in use by another store (flock on %s is held)", ErrLocked, dir, path)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return f, nil
}
