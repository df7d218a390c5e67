package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Definitions (durable exchanges, queues, bindings; later vhosts, users,
// permissions) live in their own file, serialised by the caller and
// replaced whole. These two functions are all the store offers for it.

const tempPrefix = ".tmp-"

// WriteFileAtomic replaces dir/name with data so that after a crash the
// file holds either the old or the new contents, never a mix: it writes a
// temporary file in dir, fsyncs it, renames it over name and fsyncs dir
// (the rename is durable only once the directory is synced).
func WriteFileAtomic(dir, name string, data []byte) error {
	if err := checkFileName(name); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+name+"-*")
	if err != nil {
		return fmt.Errorf("store: write %s: %w", name, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("store: write %s: %w", filepath.Join(dir, name), err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o640); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: write %s: %w", filepath.Join(dir, name), err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: write %s: %w", filepath.Join(dir, name), err)
	}
	return syncDir(dir)
}

// ReadFile returns the contents of dir/name, as last written by
// WriteFileAtomic. A missing file gives an error satisfying
// errors.Is(err, fs.ErrNotExist) (a fresh directory has no definitions).
// Temporary files a crash left behind are removed.
func ReadFile(dir, name string) ([]byte, error) {
	if err := checkFileName(name); err != nil {
		return nil, err
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, tempPrefix+name+"-*")); len(matches) > 0 {
		for _, m := range matches {
			os.Remove(m)
		}
	}
	return os.ReadFile(filepath.Join(dir, name))
}

// checkFileName accepts a plain file name: no directory, no glob
// metacharacters, not one of our temporary names.
func checkFileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\*?[") ||
		strings.HasPrefix(name, tempPrefix) {
		return fmt.Errorf("store: bad definitions file name %q", name)
	}
	return nil
}
