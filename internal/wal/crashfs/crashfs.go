// Package crashfs is an in-memory wal.FS for crash tests. It models what a
// crash keeps: for every file the bytes made durable by its last successful
// Sync, and for every directory the entries made durable by its last SyncDir
// (a created or removed file is only durable once its directory is synced).
//
// A test runs code against an FS, makes it crash at any numbered operation
// (CrashAt) or fail one (SetFault), and then calls Image to get the file
// system a restarted process would find, with the unsynced bytes dropped,
// torn, replaced by garbage or zeroed.
package crashfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/distkit/distkit/internal/wal"
)

// ErrCrashed is returned by every operation at and after the crash point.
var ErrCrashed = errors.New("crashfs: crashed")

// OpKind names a mutating operation, the only ones that are numbered.
type OpKind int

// The mutating operations.
const (
	OpCreate   OpKind = iota + 1 // OpenFile that creates the file
	OpWrite                      // File.Write
	OpSync                       // File.Sync
	OpTruncate                   // File.Truncate
	OpRemove                     // FS.Remove
	OpSyncDir                    // FS.SyncDir
	OpMkdir                      // FS.MkdirAll
)

var opNames = [...]string{OpCreate: "create", OpWrite: "write", OpSync: "sync",
	OpTruncate: "truncate", OpRemove: "remove", OpSyncDir: "syncdir", OpMkdir: "mkdir"}

// String returns the operation's name.
func (k OpKind) String() string {
	if k > 0 && int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op describes one mutating operation.
type Op struct {
	N    int    // 1 for the first mutating operation of the FS, then 2, 3, ...
	Kind OpKind // what it does
	Path string // the file or directory
}

// String formats the operation for test messages.
func (o Op) String() string { return fmt.Sprintf("#%d %s %s", o.N, o.Kind, o.Path) }

// node is a file's content, shared by every name and handle that refer to it.
type node struct {
	data   []byte // what reads see now
	synced []byte // what a crash keeps
}

// FS is the in-memory file system. It is safe for concurrent use.
type FS struct {
	mu      sync.Mutex
	live    map[string]*node // directory entries as the running process sees them
	durable map[string]*node // directory entries a crash keeps
	dirs    map[string]bool
	ops     int
	crashAt int // crash at this operation number; 0 = never
	crashed bool
	fault   func(Op) error
	handles int // open file handles
}

var _ wal.FS = (*FS)(nil)

// New returns an empty FS.
func New() *FS {
	return &FS{live: map[string]*node{}, durable: map[string]*node{}, dirs: map[string]bool{}}
}

// CrashAt makes the FS crash at mutating operation n: that operation does
// nothing and it and every later operation, reads included, fail with
// ErrCrashed. 0 cancels it.
func (f *FS) CrashAt(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashAt = n
}

// Crash makes the FS crash now.
func (f *FS) Crash() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashed = true
}

// Crashed reports whether the FS has crashed.
func (f *FS) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.crashed
}

// OpenFiles returns how many file handles are open, for leak checks.
func (f *FS) OpenFiles() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handles
}

// Ops returns how many mutating operations have been attempted.
func (f *FS) Ops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops
}

// SetFault installs fn, called before every mutating operation with the FS
// locked (fn must not call the FS). A non-nil result fails the operation
// with that error and the operation has no effect; in particular a failed
// Sync makes nothing durable. nil removes the fault.
func (f *FS) SetFault(fn func(Op) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fn
}

// begin numbers a mutating operation and decides whether it may proceed.
// f.mu is held.
func (f *FS) begin(kind OpKind, path string) error {
	if f.crashed {
		return ErrCrashed
	}
	f.ops++
	if f.ops == f.crashAt {
		f.crashed = true
		return ErrCrashed
	}
	if f.fault != nil {
		if err := f.fault(Op{N: f.ops, Kind: kind, Path: path}); err != nil {
			return err
		}
	}
	return nil
}

func (f *FS) check() error {
	if f.crashed {
		return ErrCrashed
	}
	return nil
}

func pathErr(op, path string, err error) error { return &fs.PathError{Op: op, Path: path, Err: err} }

// OpenFile opens or creates a file. Supported flags: O_RDONLY, O_WRONLY,
// O_RDWR, O_CREATE, O_EXCL, O_APPEND, O_TRUNC.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (wal.File, error) {
	name = filepath.Clean(name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, pathErr("open", name, err)
	}
	n, ok := f.live[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, pathErr("open", name, fs.ErrExist)
	case !ok && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, fs.ErrNotExist)
	case !ok:
		if !f.dirs[filepath.Dir(name)] {
			return nil, pathErr("open", name, fs.ErrNotExist)
		}
		if err := f.begin(OpCreate, name); err != nil {
			return nil, pathErr("open", name, err)
		}
		n = &node{}
		f.live[name] = n
	}
	writable := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if writable && flag&os.O_TRUNC != 0 && len(n.data) > 0 {
		if err := f.begin(OpTruncate, name); err != nil {
			return nil, pathErr("open", name, err)
		}
		n.data = n.data[:0:0]
	}
	f.handles++
	return &file{fs: f, node: n, name: name, writable: writable,
		readable: flag&os.O_WRONLY == 0, append: flag&os.O_APPEND != 0}, nil
}

// ReadDir returns the sorted names of the files in dir.
func (f *FS) ReadDir(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, pathErr("readdir", dir, err)
	}
	if !f.dirs[dir] {
		return nil, pathErr("readdir", dir, fs.ErrNotExist)
	}
	var names []string
	for p := range f.live {
		if filepath.Dir(p) == dir {
			names = append(names, filepath.Base(p))
		}
	}
	slices.Sort(names)
	return names, nil
}

// Remove deletes a file; the removal is durable after SyncDir.
func (f *FS) Remove(name string) error {
	name = filepath.Clean(name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return pathErr("remove", name, err)
	}
	if _, ok := f.live[name]; !ok {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	if err := f.begin(OpRemove, name); err != nil {
		return pathErr("remove", name, err)
	}
	delete(f.live, name)
	return nil
}

// MkdirAll creates dir and its parents. Directories are durable at once:
// the model covers files and their entries, not directory creation.
func (f *FS) MkdirAll(dir string, perm fs.FileMode) error {
	dir = filepath.Clean(dir)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return pathErr("mkdir", dir, err)
	}
	if f.dirs[dir] {
		return nil
	}
	if err := f.begin(OpMkdir, dir); err != nil {
		return pathErr("mkdir", dir, err)
	}
	for d := dir; !f.dirs[d]; d = filepath.Dir(d) {
		f.dirs[d] = true
	}
	return nil
}

// SyncDir makes the entries of dir durable as they are now.
func (f *FS) SyncDir(dir string) error {
	dir = filepath.Clean(dir)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return pathErr("syncdir", dir, err)
	}
	if !f.dirs[dir] {
		return pathErr("syncdir", dir, fs.ErrNotExist)
	}
	if err := f.begin(OpSyncDir, dir); err != nil {
		return pathErr("syncdir", dir, err)
	}
	for p := range f.durable {
		if filepath.Dir(p) == dir {
			delete(f.durable, p)
		}
	}
	for p, n := range f.live {
		if filepath.Dir(p) == dir {
			f.durable[p] = n
		}
	}
	return nil
}

// file is an open handle.
type file struct {
	fs       *FS
	node     *node
	name     string
	offset   int64
	readable bool
	writable bool
	append   bool
	closed   bool
}

func (h *file) usable(op string, want bool) error {
	switch {
	case h.closed:
		return pathErr(op, h.name, fs.ErrClosed)
	case !want:
		return pathErr(op, h.name, fs.ErrPermission)
	}
	return h.fs.check()
}

// Write writes at the handle's offset, or at the end under O_APPEND.
func (h *file) Write(b []byte) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.usable("write", h.writable); err != nil {
		return 0, err
	}
	if err := h.fs.begin(OpWrite, h.name); err != nil {
		return 0, pathErr("write", h.name, err)
	}
	n := h.node
	if h.append {
		h.offset = int64(len(n.data))
	}
	if end := h.offset + int64(len(b)); end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[h.offset:], b)
	h.offset += int64(len(b))
	return len(b), nil
}

// ReadAt reads what the running process sees, synced or not.
func (h *file) ReadAt(b []byte, off int64) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.usable("read", h.readable); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", h.name, fs.ErrInvalid)
	}
	if off >= int64(len(h.node.data)) {
		return 0, io.EOF
	}
	n := copy(b, h.node.data[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// Sync makes the file's current bytes durable.
func (h *file) Sync() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.usable("sync", true); err != nil {
		return err
	}
	if err := h.fs.begin(OpSync, h.name); err != nil {
		return pathErr("sync", h.name, err)
	}
	h.node.synced = slices.Clone(h.node.data)
	return nil
}

// Truncate changes the size; the change is durable after Sync.
func (h *file) Truncate(size int64) error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.usable("truncate", h.writable); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", h.name, fs.ErrInvalid)
	}
	if err := h.fs.begin(OpTruncate, h.name); err != nil {
		return pathErr("truncate", h.name, err)
	}
	n := h.node
	if size <= int64(len(n.data)) {
		n.data = slices.Clip(n.data[:size])
	} else {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
	return nil
}

// Stat reports the file's name and current size.
func (h *file) Stat() (fs.FileInfo, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.usable("stat", true); err != nil {
		return nil, err
	}
	return fileInfo{name: filepath.Base(h.name), size: int64(len(h.node.data))}, nil
}

// Close releases the handle; closing never syncs.
func (h *file) Close() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.closed {
		return pathErr("close", h.name, fs.ErrClosed)
	}
	h.closed = true
	h.fs.handles--
	return nil
}

type fileInfo struct {
	name string
	size int64
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o644 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
