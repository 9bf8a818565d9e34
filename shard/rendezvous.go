package shard

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Rendezvous assigns each key to the node with the highest random weight
// (HRW) for that key. Every node draws an independent score per key, so
// adding a node moves only the keys it wins and removing one moves only its
// own keys, each to its runner-up: the minimum possible movement, with no
// key ever passing between two surviving nodes, and no tables to keep.
//
// Weights use the logarithmic method (score = weight / -ln(u) for a uniform
// u in (0, 1)), under which a node's share of keys is exactly its share of
// the total weight, and changing one node's weight moves keys only to or from
// that node.
//
// The cost is a lookup linear in the number of nodes (a few ns per node:
// 400-500 ns at 100 nodes), so prefer it up to a few hundred nodes, or
// where minimal movement matters more than lookup time. Use [Ring] or
// [Maglev] for large memberships.
//
// The zero value is an empty Rendezvous ready to use. It is safe for
// concurrent use; lookups are lock-free and do not allocate. A Rendezvous
// must not be copied after first use.
type Rendezvous struct {
	mu   sync.Mutex // serializes changes
	snap atomic.Pointer[hrwSnap]
}

// RendezvousStats is a snapshot of a Rendezvous for metrics.
type RendezvousStats struct {
	Nodes       int
	TotalWeight float64
}

// hrwSnap is one immutable membership with its per-node hash seeds.
type hrwSnap struct {
	members
	seeds   []uint64 // HashString(name), per member
	uniform bool     // every weight equal: compare raw scores, skip the logarithm
}

func newHRWSnap(m members) *hrwSnap {
	s := &hrwSnap{members: m, seeds: make([]uint64, len(m.names)), uniform: m.uniform()}
	for i, n := range m.names {
		s.seeds[i] = HashString(n)
	}
	return s
}

func (r *Rendezvous) load() *hrwSnap {
	if s := r.snap.Load(); s != nil {
		return s
	}
	return &hrwSnap{}
}

// Add adds nodes with weight 1. It returns a *NodeError wrapping
// ErrEmptyNode, ErrNodeExists or ErrTooManyNodes and changes nothing if any
// node is invalid.
func (r *Rendezvous) Add(nodes ...string) error { return r.add(nodes, 1) }

// AddWeighted adds a node with the given weight. Errors are those of Add,
// plus ErrBadWeight.
func (r *Rendezvous) AddWeighted(node string, weight float64) error {
	return r.add([]string{node}, weight)
}

func (r *Rendezvous) add(nodes []string, weight float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := r.load().with(nodes, weight, MaxNodes)
	if err != nil {
		return err
	}
	r.snap.Store(newHRWSnap(next))
	return nil
}

// Remove removes nodes. It returns a *NodeError wrapping ErrNodeNotFound
// and changes nothing if any node is not a member.
func (r *Rendezvous) Remove(nodes ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := r.load().without(nodes)
	if err != nil {
		return err
	}
	r.snap.Store(newHRWSnap(next))
	return nil
}

// SetWeight changes a node's weight. It returns a *NodeError wrapping
// ErrNodeNotFound or ErrBadWeight.
func (r *Rendezvous) SetWeight(node string, weight float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := r.load().reweighted(node, weight)
	if err != nil {
		return err
	}
	r.snap.Store(newHRWSnap(next))
	return nil
}

// Locate returns the node for key, or "" if there are no nodes.
func (r *Rendezvous) Locate(key string) string { return r.LocateHash(HashString(key)) }

// LocateBytes is Locate for a []byte key.
func (r *Rendezvous) LocateBytes(key []byte) string { return r.LocateHash(Hash(key)) }

// LocateHash returns the node for a key hashed with [HashString] or [Hash],
// or "" if there are no nodes.
func (r *Rendezvous) LocateHash(h uint64) string {
	s := r.load()
	if len(s.names) == 0 {
		return ""
	}
	if s.uniform {
		return s.names[argmaxRaw(h, s.seeds)]
	}
	best := s.score(h, 0)
	for i := 1; i < len(s.seeds); i++ {
		if c := s.score(h, i); c.beats(best) {
			best = c
		}
	}
	return s.names[best.index]
}

// Replicas fills dst with the len(dst) nodes that rank highest for key,
// best first (dst[0] is Locate(key)), and returns the filled prefix, which
// is shorter than dst when there are fewer nodes. Removing a node shifts
// the later entries up; adding one inserts it or changes nothing. It does
// not allocate; its cost is len(dst) passes over the nodes.
func (r *Rendezvous) Replicas(key string, dst []string) []string {
	return r.ReplicasHash(HashString(key), dst)
}

// ReplicasHash is Replicas for a key hashed with [HashString] or [Hash].
func (r *Rendezvous) ReplicasHash(h uint64, dst []string) []string {
	s := r.load()
	n := min(len(dst), len(s.names))
	var prev candidate
	for k := range n {
		var best candidate
		found := false
		for i := range s.seeds {
			c := s.score(h, i)
			if (k == 0 || prev.beats(c)) && (!found || c.beats(best)) {
				best, found = c, true
			}
		}
		dst[k] = s.names[best.index]
		prev = best
	}
	return dst[:n]
}

// argmaxRaw returns the index of the highest raw draw, the lowest index on
// a tie. It keeps four independent maxima so that the multiplications of
// neighboring nodes overlap, which makes it about 1.6x faster than one
// running maximum.
func argmaxRaw(h uint64, seeds []uint64) int {
	var idx [4]int
	var top [4]uint64
	i := 0
	for ; i+4 <= len(seeds); i += 4 {
		s := seeds[i : i+4 : i+4]
		r0, r1, r2, r3 := mix64(h^s[0]), mix64(h^s[1]), mix64(h^s[2]), mix64(h^s[3])
		if r0 > top[0] || i == 0 {
			top[0], idx[0] = r0, i
		}
		if r1 > top[1] || i == 0 {
			top[1], idx[1] = r1, i+1
		}
		if r2 > top[2] || i == 0 {
			top[2], idx[2] = r2, i+2
		}
		if r3 > top[3] || i == 0 {
			top[3], idx[3] = r3, i+3
		}
	}
	best, bestRaw := -1, uint64(0)
	if i > 0 {
		for k := range top {
			if best < 0 || top[k] > bestRaw || top[k] == bestRaw && idx[k] < best {
				best, bestRaw = idx[k], top[k]
			}
		}
	}
	for ; i < len(seeds); i++ {
		if raw := mix64(h ^ seeds[i]); best < 0 || raw > bestRaw {
			best, bestRaw = i, raw
		}
	}
	return best
}

// candidate is one node's score for one key. Candidates are totally
// ordered, so every key ranks every node the same way on every machine.
type candidate struct {
	score float64 // weight / -ln(u); equal weights need only raw
	raw   uint64  // the node's uniform draw for the key
	index int
}

// beats orders by score, then by raw draw (which keeps equal weights in
// exactly the order of the raw draws), then by name.
func (c candidate) beats(o candidate) bool {
	if c.score != o.score {
		return c.score > o.score
	}
	if c.raw != o.raw {
		return c.raw > o.raw
	}
	return c.index < o.index
}

func (s *hrwSnap) score(h uint64, i int) candidate {
	raw := mix64(h ^ s.seeds[i])
	if s.uniform {
		return candidate{raw: raw, index: i}
	}
	// u in (0, 1) from the top 53 bits, never 0 or 1, so the log is finite
	// and negative.
	u := (float64(raw>>11) + 0.5) * (1.0 / (1 << 53))
	return candidate{score: s.weights[i] / -math.Log(u), raw: raw, index: i}
}

// Nodes returns the members in name order.
func (r *Rendezvous) Nodes() []string { return slices.Clone(r.load().names) }

// Len returns the number of nodes.
func (r *Rendezvous) Len() int { return len(r.load().names) }

// Weight returns a node's weight and whether it is a member.
func (r *Rendezvous) Weight(node string) (float64, bool) { return r.load().weight(node) }

// Stats returns a snapshot for metrics.
func (r *Rendezvous) Stats() RendezvousStats {
	s := r.load()
	st := RendezvousStats{Nodes: len(s.names)}
	for _, w := range s.weights {
		st.TotalWeight += w
	}
	return st
}
