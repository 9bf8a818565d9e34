package shard

import (
	"fmt"
	"math"
	"sync"
)

// DefaultCapacityFactor is the capacity factor of a zero BoundedConfig.
const DefaultCapacityFactor = 1.25

// BoundedConfig configures a Bounded. The zero value means the defaults.
type BoundedConfig struct {
	// CapacityFactor is c in Mirrokni, Thorup and Zadimoghaddam's
	// "Consistent Hashing with Bounded Loads": no node is given more than
	// ceil(c * m * weight / totalWeight) keys, where m counts the keys
	// assigned including the new one. It must be at least 1; 1 balances
	// perfectly but moves the most keys on each change, larger values keep
	// more keys on their natural node. Zero means DefaultCapacityFactor.
	CapacityFactor float64
}

// Validate reports whether the config is usable; the error wraps
// ErrBadConfig.
func (c BoundedConfig) Validate() error {
	f := c.CapacityFactor
	if f != 0 && !(f >= 1 && f <= math.MaxFloat64) {
		return fmt.Errorf("%w: Bounded CapacityFactor %v must be 0 or a finite number >= 1", ErrBadConfig, f)
	}
	return nil
}

// Bounded places keys on a Ring with bounded loads: each key goes to the
// first node of its preference list (see Ring.Replicas) that is below its
// capacity, ceil(c * mean load * weight). It suits sticky assignment of
// live work, such as sessions or queue partitions to consumers, where one
// hot node must not take more than its share while most keys still stay
// put when nodes come and go.
//
// Because the capacity is computed with the key being placed counted and
// the total capacity is then at least c times the load, some node always
// has room: Assign never fails on a non-empty ring and never panics,
// whatever the membership or factor. Releases do not move keys, so after
// keys are released a node may sit above the bound until it is assigned
// again; callers that need the bound at all times reassign when Release
// returns.
//
// Bounded keeps per-node counts, not keys: the caller remembers which node
// each key went to and releases it there. Nodes removed from the Ring keep
// their count until their keys are released. Bounded is safe for
// concurrent use; Assign and Release take a short mutex.
type Bounded struct {
	ring   *Ring
	factor float64

	mu    sync.Mutex
	loads map[string]int
	total int
}

// BoundedStats is a snapshot of a Bounded for metrics.
type BoundedStats struct {
	Assigned int // keys assigned and not released
	MaxLoad  int // keys on the busiest node
	// Capacity is the bound for the next key on a node of average weight,
	// ceil(c * (Assigned+1) / nodes), or 0 when the ring is empty.
	Capacity int
}

// NewBounded returns a Bounded over ring. It panics if ring is nil or cfg
// is invalid; use cfg.Validate to check a config from a file.
func NewBounded(ring *Ring, cfg BoundedConfig) *Bounded {
	if ring == nil {
		panic("shard: NewBounded with a nil Ring")
	}
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	f := cfg.CapacityFactor
	if f == 0 {
		f = DefaultCapacityFactor
	}
	return &Bounded{ring: ring, factor: f, loads: make(map[string]int)}
}

// Assign places key and counts it against its node. It returns ErrNoNodes
// if the ring is empty.
func (b *Bounded) Assign(key string) (string, error) { return b.AssignHash(HashString(key)) }

// AssignHash is Assign for a key hashed with [HashString] or [Hash].
func (b *Bounded) AssignHash(h uint64) (string, error) {
	s := b.ring.snap.Load()
	if s.nodes == 0 {
		return "", ErrNoNodes
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	perWeight := b.factor * float64(b.total+1) / s.totalWeight
	// Walk the preference order. The capacities of the live nodes add up
	// to at least c*(total+1) > their load, so one has room; the fallback
	// (the node with the most room) only guards against float rounding.
	w := s.walk(h)
	best, bestRoom := "", math.Inf(-1)
	for {
		slot, ok := w.next()
		if !ok {
			break
		}
		name := s.names[slot]
		capacity := math.Ceil(perWeight * s.weights[slot])
		room := capacity - float64(b.loads[name])
		if room >= 1 {
			best = name
			break
		}
		if room > bestRoom {
			best, bestRoom = name, room
		}
	}
	b.loads[best]++
	b.total++
	return best, nil
}

// Release uncounts one key from node, as when the key is deleted or moved.
// It reports false, and changes nothing, if node has no keys.
func (b *Bounded) Release(node string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.loads[node]
	if n == 0 {
		return false
	}
	if n == 1 {
		delete(b.loads, node)
	} else {
		b.loads[node] = n - 1
	}
	b.total--
	return true
}

// Load returns the number of keys assigned to node and not released.
func (b *Bounded) Load(node string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loads[node]
}

// Stats returns a snapshot for metrics.
func (b *Bounded) Stats() BoundedStats {
	nodes := b.ring.Len()
	b.mu.Lock()
	defer b.mu.Unlock()
	st := BoundedStats{Assigned: b.total}
	for _, n := range b.loads {
		st.MaxLoad = max(st.MaxLoad, n)
	}
	if nodes > 0 {
		st.Capacity = int(math.Ceil(b.factor * float64(b.total+1) / float64(nodes)))
	}
	return st
}
