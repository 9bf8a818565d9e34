package shard

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Ring limits and defaults.
const (
	// DefaultVirtualNodes is the number of points a node of weight 1
	// places on a Ring with a zero RingConfig.
	//
	// A node's share of the keys is the sum of the arcs its points own.
	// Each point owns half of the gap on either side of it (the
	// nearest-point rule, see Ring), so a node's share has a coefficient
	// of variation of 1/sqrt(2*VirtualNodes): 2.2% at 1024. The busiest of
	// 100 nodes then sits about 2.5 standard deviations above the mean, so
	// with 1M keys the peak-to-mean load is about 1.07 at 100 nodes and
	// 1.12 at 1,000 (where the Poisson noise of 1,000 keys per node
	// dominates). 512 points would save half the memory but reach 1.10 at
	// 100 nodes for some sets of names.
	//
	// The price is memory, 8 bytes per point: 0.8 MB at 100 nodes and 8 MB
	// at 1,000, and a lookup at 1,000 nodes that waits for main memory
	// once (the ring no longer fits in cache). Lookups take the same number
	// of steps at any size, because the ring is indexed by the hash's top
	// bits (see Ring).
	DefaultVirtualNodes = 1024
	// MaxVirtualNodes bounds RingConfig.VirtualNodes.
	MaxVirtualNodes = 1 << 16
	// DefaultMaxPoints is the point budget of a Ring with a zero
	// RingConfig: 8M points, about 64 MB, or 8,192 nodes of weight 1.
	DefaultMaxPoints = 1 << 23
	// MaxMaxPoints bounds RingConfig.MaxPoints.
	MaxMaxPoints = 1 << 30
)

// RingConfig configures a Ring. The zero value means the defaults.
type RingConfig struct {
	// VirtualNodes is the number of points a node of weight 1 places on
	// the ring; a node of weight w places round(w*VirtualNodes), at least
	// one. More points balance better and cost memory (see
	// DefaultVirtualNodes). Zero means DefaultVirtualNodes; at most
	// MaxVirtualNodes.
	VirtualNodes int
	// MaxPoints bounds the total number of points, and so the memory a
	// Ring may use whatever weights it is given (8 bytes per point). A
	// change that would exceed it fails with ErrTooManyPoints. Zero means
	// DefaultMaxPoints; at most MaxMaxPoints.
	MaxPoints int
}

// Validate reports whether the config is usable; the error wraps
// ErrBadConfig.
func (c RingConfig) Validate() error {
	if c.VirtualNodes < 0 || c.VirtualNodes > MaxVirtualNodes {
		return fmt.Errorf("%w: Ring VirtualNodes %d is outside [0, %d]", ErrBadConfig, c.VirtualNodes, MaxVirtualNodes)
	}
	if c.MaxPoints < 0 || c.MaxPoints > MaxMaxPoints {
		return fmt.Errorf("%w: Ring MaxPoints %d is outside [0, %d]", ErrBadConfig, c.MaxPoints, MaxMaxPoints)
	}
	return nil
}

func (c RingConfig) withDefaults() RingConfig {
	if c.VirtualNodes == 0 {
		c.VirtualNodes = DefaultVirtualNodes
	}
	if c.MaxPoints == 0 {
		c.MaxPoints = DefaultMaxPoints
	}
	return c
}

// Ring is a consistent-hash ring with virtual nodes and weights.
//
// Every node places points on a 64-bit circle, at the xxHash64 of its name
// and point number (its top 48 bits), and a key belongs to the node of the
// point nearest to the key's hash, on either side. Taking the nearest
// point rather than the next one clockwise halves the variance of each
// node's share for the same number of points, and keeps the classic
// guarantees: adding a node moves keys only to it, removing one moves only
// its keys, and no key ever passes between two nodes that stay. Changing a
// weight adds or removes that node's points only, so it too moves keys only
// to or from that node. Replicas gives a key's preference list, [Bounded]
// caps node loads, and [Diff] plans the data movement of a change.
//
// The ring's state is an immutable snapshot behind an atomic pointer, so
// lookups are lock-free, never allocate, and never see half a change. A
// snapshot is a table of chunks indexed by the top bits of the hash, each
// holding about 64 sorted points plus copies of its neighbors, so a lookup
// takes the same steps at 10 or 10,000 nodes. A change rebuilds only the
// chunks its points fall in and shares the rest with the previous
// snapshot: adding a node costs time proportional to its own points (under
// 1 ms at 1,000 nodes), not to the ring. Points that collide on the same
// position are ordered by node name, so the ring depends only on its
// membership, never on the order of changes, and removing one node never
// disturbs another's points.
//
// A Ring holds at most 65,536 nodes at a time.
//
// A Ring is safe for concurrent use. Changes are serialized; they do not
// block lookups. Create one with NewRing; a Ring must not be copied.
type Ring struct {
	cfg  RingConfig
	snap atomic.Pointer[ringSnap]

	mu    sync.Mutex        // serializes changes; guards the fields below
	slots map[string]uint32 // member name -> slot
	free  []uint32          // released slots, reused before new ones

	// pointHash places point j of a node; nil means xxHash64. Tests
	// replace it to force collisions.
	pointHash func(name string, j int) uint64
}

// RingStats is a snapshot of a Ring for metrics.
type RingStats struct {
	Nodes       int
	Points      int // virtual-node points on the ring, over all nodes
	TotalWeight float64
	Chunks      int // lookup table entries
	MemoryBytes int // approximate size of the snapshot
}

// NewRing returns an empty ring. It panics if cfg is invalid; use
// cfg.Validate to check a config from a file.
func NewRing(cfg RingConfig) *Ring {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	r := &Ring{cfg: cfg.withDefaults(), slots: make(map[string]uint32)}
	r.snap.Store(&ringSnap{})
	return r
}

// Clone returns an independent ring with the same config and membership.
// It shares the current snapshot, so it costs O(nodes), not O(points).
// Change the clone and Diff it against the original to plan a migration.
func (r *Ring) Clone() *Ring {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &Ring{cfg: r.cfg, slots: maps.Clone(r.slots), free: slices.Clone(r.free), pointHash: r.pointHash}
	c.snap.Store(r.snap.Load())
	return c
}

// Add adds nodes with weight 1, all in one change. It returns a *NodeError
// wrapping ErrEmptyNode, ErrNodeExists, ErrTooManyNodes (beyond 65,536
// nodes) or ErrTooManyPoints and changes nothing if any node is invalid.
func (r *Ring) Add(nodes ...string) error { return r.add(nodes, 1) }

// AddWeighted adds a node with the given weight: it gets
// round(weight*VirtualNodes) points, at least one, so about weight/total
// of the keys. Errors are those of Add, plus ErrBadWeight.
func (r *Ring) AddWeighted(node string, weight float64) error {
	return r.add([]string{node}, weight)
}

func (r *Ring) add(nodes []string, weight float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	seen := make(map[string]struct{}, len(nodes))
	for _, n := range nodes {
		if err := checkName(n); err != nil {
			return err
		}
		if err := checkWeight(n, weight); err != nil {
			return err
		}
		_, dup := seen[n]
		if _, member := r.slots[n]; member || dup {
			return nodeErr(n, ErrNodeExists)
		}
		seen[n] = struct{}{}
	}
	if len(nodes) == 0 {
		return nil
	}
	if old.nodes+len(nodes) > maxRingNodes {
		return nodeErr(nodes[0], ErrTooManyNodes)
	}
	count, ok := r.pointCount(weight)
	if !ok || old.points+count*len(nodes) > r.cfg.MaxPoints {
		return nodeErr(nodes[0], ErrTooManyPoints)
	}
	next := old.cloneMeta()
	added := make([]uint64, 0, count*len(nodes))
	for _, n := range nodes {
		slot := r.takeSlot(next)
		r.slots[n] = slot
		next.names[slot], next.weights[slot], next.counts[slot] = n, weight, int32(count)
		next.nodes++
		added = r.appendPoints(added, n, slot, 0, count)
	}
	sortPoints(added, next.names)
	r.snap.Store(next.apply(old, added, nil))
	return nil
}

// takeSlot returns a free slot index, growing next's per-slot arrays when
// none is free.
func (r *Ring) takeSlot(next *ringSnap) uint32 {
	if n := len(r.free); n > 0 {
		s := r.free[n-1]
		r.free = r.free[:n-1]
		return s
	}
	next.names = append(next.names, "")
	next.weights = append(next.weights, 0)
	next.counts = append(next.counts, 0)
	return uint32(len(next.names) - 1)
}

// Remove removes nodes, all in one change. It returns a *NodeError
// wrapping ErrNodeNotFound and changes nothing if any node is not a member.
func (r *Ring) Remove(nodes ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	seen := make(map[string]struct{}, len(nodes))
	for _, n := range nodes {
		_, dup := seen[n]
		if _, member := r.slots[n]; !member || dup {
			return nodeErr(n, ErrNodeNotFound)
		}
		seen[n] = struct{}{}
	}
	if len(nodes) == 0 {
		return nil
	}
	next := old.cloneMeta()
	var removed []uint64
	for _, n := range nodes {
		slot := r.slots[n]
		removed = r.appendPoints(removed, n, slot, 0, int(old.counts[slot]))
		next.names[slot], next.weights[slot], next.counts[slot] = "", 0, 0
		next.nodes--
		delete(r.slots, n)
		r.free = append(r.free, slot)
	}
	sortPoints(removed, old.names)
	r.snap.Store(next.apply(old, nil, removed))
	return nil
}

// SetWeight changes a node's weight. The node gains or loses only the
// points the difference calls for, so keys move only to or from it. It
// returns a *NodeError wrapping ErrNodeNotFound, ErrBadWeight or
// ErrTooManyPoints.
func (r *Ring) SetWeight(node string, weight float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	slot, member := r.slots[node]
	if !member {
		return nodeErr(node, ErrNodeNotFound)
	}
	if err := checkWeight(node, weight); err != nil {
		return err
	}
	old := r.snap.Load()
	have := int(old.counts[slot])
	want, ok := r.pointCount(weight)
	if !ok || old.points-have+want > r.cfg.MaxPoints {
		return nodeErr(node, ErrTooManyPoints)
	}
	next := old.cloneMeta()
	next.weights[slot], next.counts[slot] = weight, int32(want)
	switch {
	case want > have:
		added := r.appendPoints(nil, node, slot, have, want)
		sortPoints(added, next.names)
		next = next.apply(old, added, nil)
	case want < have:
		removed := r.appendPoints(nil, node, slot, want, have)
		sortPoints(removed, old.names)
		next = next.apply(old, nil, removed)
	default:
		next = next.apply(old, nil, nil)
	}
	r.snap.Store(next)
	return nil
}

// pointCount returns the number of points for a weight, and false if it
// is more than any ring may hold.
func (r *Ring) pointCount(weight float64) (int, bool) {
	f := math.Round(weight * float64(r.cfg.VirtualNodes))
	if f > float64(r.cfg.MaxPoints) {
		return 0, false
	}
	return max(1, int(f)), true
}

// appendPoints appends points [from, to) of a node.
func (r *Ring) appendPoints(dst []uint64, name string, slot uint32, from, to int) []uint64 {
	if r.pointHash != nil {
		for j := from; j < to; j++ {
			dst = append(dst, makePoint(r.pointHash(name, j), slot))
		}
		return dst
	}
	return appendNodePoints(dst, name, slot, from, to)
}

// Locate returns the node that owns key, or "" if the ring is empty.
func (r *Ring) Locate(key string) string { return r.LocateHash(HashString(key)) }

// LocateBytes is Locate for a []byte key.
func (r *Ring) LocateBytes(key []byte) string { return r.LocateHash(Hash(key)) }

// LocateHash returns the node that owns a key hashed with [HashString] or
// [Hash], or "" if the ring is empty.
func (r *Ring) LocateHash(h uint64) string {
	s := r.snap.Load()
	if len(s.chunks) == 0 {
		return ""
	}
	return s.names[s.locate(h)]
}

// Replicas fills dst with the preference list of key: the len(dst)
// distinct nodes nearest to it on the ring, nearest first, so dst[0] is
// Locate(key). It returns the filled prefix, shorter than dst when the ring
// has fewer nodes. Like Dynamo's preference list it is stable: adding a
// node inserts it into lists or leaves them alone, and removing one closes
// its gap. It does not allocate.
func (r *Ring) Replicas(key string, dst []string) []string {
	return r.ReplicasHash(HashString(key), dst)
}

// ReplicasHash is Replicas for a key hashed with [HashString] or [Hash].
func (r *Ring) ReplicasHash(h uint64, dst []string) []string {
	s := r.snap.Load()
	n := min(len(dst), s.nodes)
	if n == 0 {
		return dst[:0]
	}
	d := newDistinct(len(s.names), n)
	defer d.release()
	w := s.walk(h)
	k := 0
	for k < n {
		slot, ok := w.next()
		if !ok {
			break // unreachable: every node has a point
		}
		if d.add(slot) {
			dst[k] = s.names[slot]
			k++
		}
	}
	return dst[:k]
}

// Spans returns the hash ranges each node owns, in hash order, covering the
// whole hash space (none if the ring is empty). It reads one snapshot, so
// concurrent changes do not show up halfway.
func (r *Ring) Spans() iter.Seq[Span] {
	s := r.snap.Load()
	return s.spans
}

// Nodes returns the members in name order.
func (r *Ring) Nodes() []string {
	s := r.snap.Load()
	out := make([]string, 0, s.nodes)
	for _, n := range s.names {
		if n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Len returns the number of nodes.
func (r *Ring) Len() int { return r.snap.Load().nodes }

// Weight returns a node's weight and whether it is a member.
func (r *Ring) Weight(node string) (float64, bool) {
	s := r.snap.Load()
	for i, n := range s.names {
		if n == node && n != "" {
			return s.weights[i], true
		}
	}
	return 0, false
}

// Stats returns a snapshot for metrics.
func (r *Ring) Stats() RingStats {
	s := r.snap.Load()
	st := RingStats{Nodes: s.nodes, Points: s.points, TotalWeight: s.totalWeight, Chunks: len(s.chunks)}
	st.MemoryBytes = s.points*8 + len(s.chunks)*(24+16) + len(s.names)*28
	return st
}
