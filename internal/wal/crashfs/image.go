package crashfs

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
)

// Mode says what a crash does to the bytes written since a file's last Sync.
type Mode int

const (
	// DropUnsynced loses every unsynced byte: the file is as last synced.
	DropUnsynced Mode = iota
	// TornPrefix keeps a prefix of the unsynced bytes, as when a crash
	// interrupts the write-back of a file's pages.
	TornPrefix
	// Garbage keeps a prefix of the unsynced bytes and fills the rest of the
	// unsynced length with random bytes, as when the file size reached the
	// disk but some of its blocks did not.
	Garbage
	// Zeros is Garbage with zero bytes, what most file systems show for
	// blocks allocated but never written.
	Zeros
)

// Modes lists every Mode, for tests that sweep them.
var Modes = []Mode{DropUnsynced, TornPrefix, Garbage, Zeros}

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case DropUnsynced:
		return "drop"
	case TornPrefix:
		return "torn"
	case Garbage:
		return "garbage"
	case Zeros:
		return "zeros"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Image returns the file system a process would find after a crash now:
// only durable directory entries, each file's synced bytes, and its unsynced
// bytes treated as mode says. seed picks the torn lengths and the garbage, so
// an image is reproducible. The returned FS has not crashed and counts its
// operations from zero; f is unchanged.
func (f *FS) Image(mode Mode, seed uint64) *FS {
	f.mu.Lock()
	defer f.mu.Unlock()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := New()
	maps.Copy(img.dirs, f.dirs)
	// Iterate in name order so the random choices do not depend on map order.
	for _, p := range slices.Sorted(maps.Keys(f.durable)) {
		data := crashContent(f.durable[p], mode, rng)
		n := &node{data: data, synced: slices.Clone(data)}
		img.live[p], img.durable[p] = n, n
	}
	return img
}

// crashContent is what a crash leaves of n's bytes under mode.
func crashContent(n *node, mode Mode, rng *rand.Rand) []byte {
	synced := slices.Clone(n.synced)
	if mode == DropUnsynced || !bytes.HasPrefix(n.data, n.synced) {
		// Lost writes, or an unsynced truncation: the torn modes keep the
		// synced content too (the old blocks are still on disk).
		return synced
	}
	unsynced := n.data[len(n.synced):]
	if len(unsynced) == 0 {
		return synced
	}
	keep := rng.IntN(len(unsynced)) // a strict prefix: something was lost
	out := append(synced, unsynced[:keep]...)
	switch mode {
	case Garbage:
		for range len(unsynced) - keep {
			out = append(out, byte(rng.Uint32()))
		}
	case Zeros:
		out = append(out, make([]byte, len(unsynced)-keep)...)
	}
	return out
}

// ReadFile returns a copy of a file's current bytes, for test assertions.
func (f *FS) ReadFile(name string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.live[filepath.Clean(name)]
	if !ok {
		return nil, false
	}
	return slices.Clone(n.data), true
}

// Damage changes a file's bytes in place, durably, as disk corruption would;
// fn may modify the slice it gets but not grow it.
func (f *FS) Damage(name string, fn func([]byte)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.live[filepath.Clean(name)]
	if !ok {
		return false
	}
	fn(n.data)
	n.synced = slices.Clone(n.data)
	return true
}

// Files returns the sorted paths of the files the running process sees.
func (f *FS) Files() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.live))
}
