package wal

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// FS is the file-system seam of the log. The log only ever appends to files it
// opened with os.O_APPEND, reads them with ReadAt, truncates them at recovery,
// and creates or removes whole files, so this is all it needs.
//
// Contract an implementation must keep (the real file system keeps it):
//   - bytes written to a File are durable only after File.Sync returns nil;
//   - a created or removed directory entry is durable only after SyncDir on its
//     directory returns nil;
//   - a failed Sync may have lost the unsynced bytes; the log never retries it.
type FS interface {
	// OpenFile opens name with os.OpenFile flags (O_RDONLY, O_WRONLY|O_CREATE|O_APPEND, ...).
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// ReadDir returns the names of the regular files in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Remove deletes the named file.
	Remove(name string) error
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// SyncDir makes the creation and removal of entries in dir durable.
	SyncDir(dir string) error
}

// File is an open file of an FS. Write appends (the log opens files for
// writing with os.O_APPEND).
type File interface {
	io.Writer
	io.ReaderAt
	io.Closer
	// Sync makes every byte written so far durable (fsync).
	Sync() error
	// Truncate changes the size of the file; the change is durable after Sync.
	Truncate(size int64) error
	// Stat reports the file's size among other things.
	Stat() (fs.FileInfo, error)
}

// OSFS is the real file system. It is the FS used when Options.FS is nil.
type OSFS struct{}

// OpenFile calls os.OpenFile.
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadDir lists the regular files of dir, sorted by name.
func (OSFS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Remove calls os.Remove.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// MkdirAll calls os.MkdirAll.
func (OSFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// SyncDir opens dir and fsyncs it so that entries created or removed in it survive a crash.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}
