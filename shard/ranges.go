package shard

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
)

// Ranges limits and defaults.
const (
	// DefaultMaxRanges is the range limit of a zero RangesConfig.
	DefaultMaxRanges = 1 << 16
	// MaxMaxRanges bounds RangesConfig.MaxRanges.
	MaxMaxRanges = 1 << 24
	// DefaultMaxKeyLen is the split-point length limit, in bytes, of a
	// zero RangesConfig.
	DefaultMaxKeyLen = 1 << 10
	// MaxMaxKeyLen bounds RangesConfig.MaxKeyLen.
	MaxMaxKeyLen = 1 << 20
)

// Errors returned by Ranges, wrapped in a *RangeError that names the key.
var (
	// ErrSplitExists reports a Split at a key that already starts a range
	// (including "", where the first range starts).
	ErrSplitExists = errors.New("shard: a range already starts at this key")
	// ErrNoSplit reports a Merge or Assign at a key that starts no range.
	ErrNoSplit = errors.New("shard: no range starts at this key")
	// ErrKeyTooLong reports a split point longer than MaxKeyLen.
	ErrKeyTooLong = errors.New("shard: split key too long")
	// ErrTooManyRanges reports a Split beyond MaxRanges.
	ErrTooManyRanges = errors.New("shard: too many ranges")
)

// RangeError is the error a Ranges change returns: the key it was about
// and the reason.
type RangeError struct {
	Key string
	Err error
}

// Error gives the reason and the key, shortened if it is long.
func (e *RangeError) Error() string { return fmt.Sprintf("%v: %q", e.Err, clip(e.Key)) }

// Unwrap returns the reason, so errors.Is(err, ErrNoSplit) works.
func (e *RangeError) Unwrap() error { return e.Err }

// RangesConfig configures a Ranges. The zero value means the defaults.
type RangesConfig struct {
	// MaxRanges bounds the number of ranges; Split fails with
	// ErrTooManyRanges beyond it. Zero means DefaultMaxRanges; at most
	// MaxMaxRanges.
	MaxRanges int
	// MaxKeyLen bounds the length of a split point in bytes; Split fails
	// with ErrKeyTooLong beyond it. Together with MaxRanges it bounds the
	// memory a Ranges may use. Zero means DefaultMaxKeyLen; at most
	// MaxMaxKeyLen.
	MaxKeyLen int
}

// Validate reports whether the config is usable; the error wraps
// ErrBadConfig.
func (c RangesConfig) Validate() error {
	if c.MaxRanges < 0 || c.MaxRanges > MaxMaxRanges {
		return fmt.Errorf("%w: Ranges MaxRanges %d is outside [0, %d]", ErrBadConfig, c.MaxRanges, MaxMaxRanges)
	}
	if c.MaxKeyLen < 0 || c.MaxKeyLen > MaxMaxKeyLen {
		return fmt.Errorf("%w: Ranges MaxKeyLen %d is outside [0, %d]", ErrBadConfig, c.MaxKeyLen, MaxMaxKeyLen)
	}
	return nil
}

// Range is a half-open key range [Start, End) and its node. Keys compare
// as byte strings. The first range starts at "", and the last has End ""
// meaning it has no upper bound. Node is "" while the range is unassigned.
type Range struct {
	Start, End string
	Node       string
}

// Contains reports whether key falls in the range.
func (r Range) Contains(key string) bool {
	return r.Start <= key && (r.End == "" || key < r.End)
}

// Ranges is range partitioning: the key space is cut at split points into
// contiguous ranges, each assigned to a node, as in "users 1-1000 on shard
// 1". Unlike hashing it keeps neighboring keys together, so range scans
// touch few nodes, and it moves exactly what the operator says: a Split
// moves nothing, an Assign moves one range, a Merge moves the upper range
// to the lower one's node. The trade-off is that balance is the operator's
// job: hot or growing ranges must be split and spread by hand or by a
// controller that watches load.
//
// Keys order as byte strings, so encode numbers with a fixed width (for
// example zero-padded decimal, or big-endian bytes) to keep numeric order.
//
// A new Ranges holds one unassigned range covering every key. Ranges is
// safe for concurrent use; lookups are lock-free, O(log ranges) and do not
// allocate, and changes copy the range list (O(ranges)).
type Ranges struct {
	cfg  RangesConfig
	mu   sync.Mutex // serializes changes
	snap atomic.Pointer[rangesSnap]
}

// RangesStats is a snapshot of a Ranges for metrics.
type RangesStats struct {
	Ranges     int
	Unassigned int // ranges without a node
	Nodes      int // distinct nodes owning a range
}

// rangesSnap is one immutable partition: starts[0] is "", starts is
// strictly increasing, and owners[i] owns [starts[i], starts[i+1]).
type rangesSnap struct {
	starts []string
	owners []string
}

// NewRanges returns a Ranges with one unassigned range covering every key.
// It panics if cfg is invalid; use cfg.Validate to check a config from a
// file.
func NewRanges(cfg RangesConfig) *Ranges {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.MaxRanges == 0 {
		cfg.MaxRanges = DefaultMaxRanges
	}
	if cfg.MaxKeyLen == 0 {
		cfg.MaxKeyLen = DefaultMaxKeyLen
	}
	r := &Ranges{cfg: cfg}
	r.snap.Store(&rangesSnap{starts: []string{""}, owners: []string{""}})
	return r
}

// find returns the index of the range containing key.
func (s *rangesSnap) find(key string) int {
	lo, hi := 1, len(s.starts) // first range starting after key
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.starts[mid] <= key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// findBytes is find for a []byte key; string(key) in a comparison does not
// allocate.
func (s *rangesSnap) findBytes(key []byte) int {
	lo, hi := 1, len(s.starts)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.starts[mid] <= string(key) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

func (s *rangesSnap) rangeAt(i int) Range {
	rg := Range{Start: s.starts[i], Node: s.owners[i]}
	if i+1 < len(s.starts) {
		rg.End = s.starts[i+1]
	}
	return rg
}

// Split cuts the range containing at into [start, at) and [at, end), both
// owned by its node; no key changes node. It returns a *RangeError wrapping
// ErrSplitExists, ErrKeyTooLong or ErrTooManyRanges.
func (r *Ranges) Split(at string) error {
	if len(at) > r.cfg.MaxKeyLen {
		return &RangeError{Key: at, Err: ErrKeyTooLong}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap.Load()
	i := s.find(at)
	if s.starts[i] == at {
		return &RangeError{Key: at, Err: ErrSplitExists}
	}
	if len(s.starts) >= r.cfg.MaxRanges {
		return &RangeError{Key: at, Err: ErrTooManyRanges}
	}
	r.snap.Store(&rangesSnap{
		starts: slices.Insert(slices.Clone(s.starts), i+1, at),
		owners: slices.Insert(slices.Clone(s.owners), i+1, s.owners[i]),
	})
	return nil
}

// Merge removes the split point at, joining the range that starts there
// into the one before it, which keeps its node: if the nodes differ, the
// upper range's keys move to the lower range's node. It returns a
// *RangeError wrapping ErrNoSplit if no range starts at at, or at is "".
func (r *Ranges) Merge(at string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap.Load()
	i := s.find(at)
	if i == 0 || s.starts[i] != at {
		return &RangeError{Key: at, Err: ErrNoSplit}
	}
	r.snap.Store(&rangesSnap{
		starts: slices.Delete(slices.Clone(s.starts), i, i+1),
		owners: slices.Delete(slices.Clone(s.owners), i, i+1),
	})
	return nil
}

// Assign gives the range starting at start to node. It returns a
// *RangeError wrapping ErrNoSplit if no range starts at start, or a
// *NodeError wrapping ErrEmptyNode.
func (r *Ranges) Assign(start, node string) error {
	if err := checkName(node); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap.Load()
	i := s.find(start)
	if s.starts[i] != start {
		return &RangeError{Key: start, Err: ErrNoSplit}
	}
	owners := slices.Clone(s.owners)
	owners[i] = node
	r.snap.Store(&rangesSnap{starts: s.starts, owners: owners})
	return nil
}

// Locate returns the node of the range containing key, or "" if that range
// is unassigned.
func (r *Ranges) Locate(key string) string {
	s := r.snap.Load()
	return s.owners[s.find(key)]
}

// LocateBytes is Locate for a []byte key.
func (r *Ranges) LocateBytes(key []byte) string {
	s := r.snap.Load()
	return s.owners[s.findBytes(key)]
}

// Lookup returns the range containing key.
func (r *Ranges) Lookup(key string) Range {
	s := r.snap.Load()
	return s.rangeAt(s.find(key))
}

// All returns the ranges in key order. It reads one snapshot, so
// concurrent changes do not show up halfway.
func (r *Ranges) All() iter.Seq[Range] {
	s := r.snap.Load()
	return func(yield func(Range) bool) {
		for i := range s.starts {
			if !yield(s.rangeAt(i)) {
				return
			}
		}
	}
}

// Len returns the number of ranges.
func (r *Ranges) Len() int { return len(r.snap.Load().starts) }

// Stats returns a snapshot for metrics.
func (r *Ranges) Stats() RangesStats {
	s := r.snap.Load()
	st := RangesStats{Ranges: len(s.starts)}
	nodes := make(map[string]struct{})
	for _, o := range s.owners {
		if o == "" {
			st.Unassigned++
		} else {
			nodes[o] = struct{}{}
		}
	}
	st.Nodes = len(nodes)
	return st
}

// RangeMove is a key range [Start, End) whose keys change node, from From
// to To; End "" means no upper bound, and From or To is "" where the range
// is unassigned.
type RangeMove struct {
	Start, End string
	From, To   string
}

// DiffRanges returns the key ranges whose node differs between from and
// to, in key order, adjacent moves with the same nodes merged: the data a
// service migrates before it switches from one partition to the other.
func DiffRanges(from, to *Ranges) []RangeMove {
	a, b := from.snap.Load(), to.snap.Load()
	var moves []RangeMove
	i, j := 0, 0
	start := ""
	for {
		// The elementary range [start, end) lies in a's range i and b's
		// range j; end is the nearer of their next split points.
		end, last := "", true
		if i+1 < len(a.starts) {
			end, last = a.starts[i+1], false
		}
		if j+1 < len(b.starts) && (last || b.starts[j+1] < end) {
			end, last = b.starts[j+1], false
		}
		if from, to := a.owners[i], b.owners[j]; from != to {
			if n := len(moves); n > 0 && moves[n-1].End == start && moves[n-1].From == from && moves[n-1].To == to {
				moves[n-1].End = end
			} else {
				moves = append(moves, RangeMove{Start: start, End: end, From: from, To: to})
			}
		}
		if last {
			return moves
		}
		if i+1 < len(a.starts) && a.starts[i+1] == end {
			i++
		}
		if j+1 < len(b.starts) && b.starts[j+1] == end {
			j++
		}
		start = end
	}
}
