package shard

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// JumpHash maps a 64-bit key to a bucket in [0, buckets) with the guarantees
// of Lamping and Veach's jump consistent hash: every bucket receives the same
// share of keys, and growing from n to n+1 buckets moves a key only into the
// new bucket n (so exactly 1/(n+1) of the keys move, the minimum). It returns
// -1 when buckets < 1.
//
// The classic algorithm walks O(log n) jumps, each with a floating-point
// division. JumpHash realizes the same random process with integer
// arithmetic in constant expected time, which makes it several times faster
// at large bucket counts. The trade-off: its bucket numbers differ from other
// jump hash implementations, so do not mix the two for the same data.
//
// How it works: for every bucket j >= 1 the process fixes an independent
// event E(j) of probability 1/(j+1), and the key lives in the highest
// bucket below n whose event occurred (E(0) always occurs). Over a
// power-of-two block [2^i, 2^(i+1)) those probabilities telescope: the block
// holds at least one event with probability exactly 1/2, its highest event
// is then uniform over the block, and below any event h the next one is
// uniform on [0, h). So one random word decides which blocks hold events,
// and only the block containing n-1 may need a short descent.
func JumpHash(key uint64, buckets int) int {
	if buckets <= 1 {
		if buckets == 1 {
			return 0
		}
		return -1
	}
	n := uint64(buckets)
	top := uint(bits.Len64(n-1)) - 1 // block [2^top, 2^(top+1)) holds n-1
	occupied := mix64(key + golden)  // bit i: block i holds an event
	if occupied>>top&1 != 0 {
		lo := uint64(1) << top
		h := lo | mix64(key+golden*uint64(top+2))&(lo-1) // highest event in the block
		for draw := uint64(1); ; draw++ {
			if h < n {
				return int(h)
			}
			// The next event below h is uniform on [0, h); below lo the
			// block has no further event.
			h, _ = bits.Mul64(h, mix64(key+golden*(uint64(top+2)+draw<<6)))
			if h < lo {
				break
			}
		}
	}
	lower := occupied & (uint64(1)<<top - 1)
	if lower == 0 {
		return 0
	}
	i := uint(bits.Len64(lower)) - 1
	lo := uint64(1) << i
	return int(lo | mix64(key+golden*uint64(i+2))&(lo-1))
}

// Jump assigns keys to an ordered list of nodes with [JumpHash]: node i is
// bucket i. It needs no memory beyond the list and balances perfectly, but
// it can only add a node at the end and remove the last node, so use it
// where nodes are numbered shards rather than machines that fail at random
// (for those, use [Ring] or [Rendezvous]).
//
// The zero value is an empty Jump ready to use. A Jump is safe for
// concurrent use; lookups are lock-free and do not allocate. A Jump must not
// be copied after first use.
type Jump struct {
	mu    sync.Mutex // serializes changes
	nodes atomic.Pointer[[]string]
}

// JumpStats is a snapshot of a Jump for metrics.
type JumpStats struct {
	Nodes int // number of buckets
}

// Add appends nodes as new buckets, in order. It returns a *NodeError
// wrapping ErrEmptyNode, ErrNodeExists or ErrTooManyNodes and changes
// nothing if any node is invalid.
func (j *Jump) Add(nodes ...string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	old := j.list()
	if len(old)+len(nodes) > MaxNodes && len(nodes) > 0 {
		return nodeErr(nodes[0], ErrTooManyNodes)
	}
	seen := make(map[string]struct{}, len(old)+len(nodes))
	for _, n := range old {
		seen[n] = struct{}{}
	}
	for _, n := range nodes {
		if err := checkName(n); err != nil {
			return err
		}
		if _, dup := seen[n]; dup {
			return nodeErr(n, ErrNodeExists)
		}
		seen[n] = struct{}{}
	}
	next := make([]string, 0, len(old)+len(nodes))
	next = append(append(next, old...), nodes...)
	j.nodes.Store(&next)
	return nil
}

// Remove removes the last node. It returns a *NodeError wrapping ErrNotLast
// if node is a member but not the last one, or ErrNodeNotFound if it is not
// a member.
func (j *Jump) Remove(node string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	old := j.list()
	if len(old) > 0 && old[len(old)-1] == node {
		next := old[: len(old)-1 : len(old)-1]
		j.nodes.Store(&next)
		return nil
	}
	for _, n := range old {
		if n == node {
			return nodeErr(node, ErrNotLast)
		}
	}
	return nodeErr(node, ErrNodeNotFound)
}

func (j *Jump) list() []string {
	if p := j.nodes.Load(); p != nil {
		return *p
	}
	return nil
}

// Locate returns the node for key, or "" if there are no nodes.
func (j *Jump) Locate(key string) string { return j.LocateHash(HashString(key)) }

// LocateBytes is Locate for a []byte key.
func (j *Jump) LocateBytes(key []byte) string { return j.LocateHash(Hash(key)) }

// LocateHash returns the node for a key hashed with [HashString] or [Hash],
// or "" if there are no nodes.
func (j *Jump) LocateHash(h uint64) string {
	nodes := j.list()
	if len(nodes) == 0 {
		return ""
	}
	return nodes[JumpHash(h, len(nodes))]
}

// Nodes returns the nodes in bucket order.
func (j *Jump) Nodes() []string { return append([]string(nil), j.list()...) }

// Len returns the number of nodes.
func (j *Jump) Len() int { return len(j.list()) }

// Stats returns a snapshot for metrics.
func (j *Jump) Stats() JumpStats { return JumpStats{Nodes: j.Len()} }
