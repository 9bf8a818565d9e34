package shard

import (
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// Maglev table sizes.
const (
	// DefaultMaglevTableSize is the table size a zero MaglevConfig uses: a
	// prime large enough that each of 650 nodes owns at least 100 slots,
	// the point below which the Maglev paper reports visible imbalance.
	DefaultMaglevTableSize = 65537
	// MaxMaglevTableSize bounds MaglevConfig.TableSize (32 MiB of table).
	MaxMaglevTableSize = 1 << 24
)

// maxMaglevNodes is the node limit of a Maglev: its table stores 16-bit
// member indexes (one below 65,536, which marks a free slot while the
// table fills), which halves the table and keeps more of it in cache.
const maxMaglevNodes = 1<<16 - 1

// MaglevConfig configures a Maglev. The zero value is ready to use.
type MaglevConfig struct {
	// TableSize is the number of lookup slots; it must be a prime no larger
	// than MaxMaglevTableSize, and at least the number of nodes. Larger
	// tables balance better and move fewer keys on a change (1.6x the
	// minimum at 650 slots per node, 6x at 65; 2.9x at 1,000 nodes with
	// 1,048,583 slots), but cost 2 bytes per slot and a rebuild
	// proportional to the size on every change. Zero means
	// DefaultMaglevTableSize.
	TableSize int
}

// Validate reports whether the config is usable.
func (c MaglevConfig) Validate() error {
	if c.TableSize == 0 {
		return nil
	}
	if c.TableSize < 0 || c.TableSize > MaxMaglevTableSize || !isPrime(c.TableSize) {
		return fmt.Errorf("%w: Maglev TableSize %d is not a prime in [2, %d]", ErrBadConfig, c.TableSize, MaxMaglevTableSize)
	}
	return nil
}

func (c MaglevConfig) tableSize() int {
	if c.TableSize == 0 {
		return DefaultMaglevTableSize
	}
	return c.TableSize
}

// isPrime tests n <= MaxMaglevTableSize by trial division.
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// Maglev is Google's Maglev consistent hash (Eisenbud et al., NSDI 2016):
// each node walks its own pseudo-random permutation of a prime-sized table,
// and the nodes take turns claiming their next free slot until the table is
// full. A lookup is one multiplication and one table read, whatever the
// number of nodes, and every node owns within one slot of its fair share.
//
// The trade-off is movement: a change rebuilds the whole table, and
// although most slots keep their owner, some pass between surviving nodes
// (about 1.5x the minimal movement at the default size and 100 nodes).
// Prefer Maglev for stateless routing (packets, cache-friendly request
// routing) and [Ring] or [Rendezvous] where moved keys mean moved data.
//
// Weights are honored by letting each node claim slots in proportion to its
// weight; a node whose share of the total weight is below one slot may get
// none. Slots map to contiguous hash ranges, so Maglev is a [Spanner] and
// [Diff] plans its data movement.
//
// A Maglev is safe for concurrent use; lookups are lock-free and do not
// allocate. Create one with NewMaglev; a Maglev must not be copied.
type Maglev struct {
	size int
	mu   sync.Mutex // serializes changes
	snap atomic.Pointer[maglevSnap]
}

// MaglevStats is a snapshot of a Maglev for metrics.
type MaglevStats struct {
	Nodes       int
	TableSize   int
	TotalWeight float64
	MinSlots    int // fewest slots owned by a node
	MaxSlots    int // most slots owned by a node
}

type maglevSnap struct {
	members
	table []uint16 // slot -> member index; nil when there are no members
}

// NewMaglev returns an empty Maglev. It panics if cfg is invalid; use
// cfg.Validate to check a config from a file.
func NewMaglev(cfg MaglevConfig) *Maglev {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	m := &Maglev{size: cfg.tableSize()}
	m.snap.Store(&maglevSnap{})
	return m
}

// Add adds nodes with weight 1. It returns a *NodeError wrapping
// ErrEmptyNode, ErrNodeExists or ErrTooManyNodes (more nodes than table
// slots, or than 65,535) and changes nothing if any node is invalid.
func (m *Maglev) Add(nodes ...string) error { return m.add(nodes, 1) }

// AddWeighted adds a node with the given weight. Errors are those of Add,
// plus ErrBadWeight.
func (m *Maglev) AddWeighted(node string, weight float64) error {
	return m.add([]string{node}, weight)
}

func (m *Maglev) add(nodes []string, weight float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := m.snap.Load().with(nodes, weight, min(m.size, maxMaglevNodes))
	if err != nil {
		return err
	}
	m.snap.Store(m.build(next))
	return nil
}

// Remove removes nodes. It returns a *NodeError wrapping ErrNodeNotFound
// and changes nothing if any node is not a member.
func (m *Maglev) Remove(nodes ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := m.snap.Load().without(nodes)
	if err != nil {
		return err
	}
	m.snap.Store(m.build(next))
	return nil
}

// SetWeight changes a node's weight. It returns a *NodeError wrapping
// ErrNodeNotFound or ErrBadWeight.
func (m *Maglev) SetWeight(node string, weight float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := m.snap.Load().reweighted(node, weight)
	if err != nil {
		return err
	}
	m.snap.Store(m.build(next))
	return nil
}

// build populates the lookup table for a membership.
func (m *Maglev) build(ms members) *maglevSnap {
	s := &maglevSnap{members: ms}
	if len(ms.names) == 0 {
		return s
	}
	size := uint64(m.size)
	const free = ^uint16(0)
	table := make([]uint16, size)
	for i := range table {
		table[i] = free
	}
	// Each node's permutation is offset, offset+skip, offset+2*skip, ...
	// mod size; size is prime and 0 < skip < size, so it visits every slot.
	next := make([]uint64, len(ms.names)) // next slot each node will try
	skip := make([]uint64, len(ms.names))
	share := make([]float64, len(ms.names)) // weight relative to the heaviest
	credit := make([]float64, len(ms.names))
	heaviest := slices.Max(ms.weights)
	for i, name := range ms.names {
		h := HashString(name)
		next[i] = h % size
		skip[i] = 1
		if size > 1 {
			skip[i] = mix64(h)%(size-1) + 1
		}
		share[i] = ms.weights[i] / heaviest
	}
	filled := uint64(0)
	for filled < size {
		for i := range next {
			// A node claims a slot each time its accumulated share reaches
			// one, so claims per round are proportional to weight.
			if credit[i] += share[i]; credit[i] < 1 {
				continue
			}
			credit[i]--
			c := next[i]
			for table[c] != free {
				if c += skip[i]; c >= size {
					c -= size
				}
			}
			table[c] = uint16(i)
			if next[i] = c + skip[i]; next[i] >= size {
				next[i] -= size
			}
			if filled++; filled == size {
				break
			}
		}
	}
	s.table = table
	return s
}

// Locate returns the node for key, or "" if there are no nodes.
func (m *Maglev) Locate(key string) string { return m.LocateHash(HashString(key)) }

// LocateBytes is Locate for a []byte key.
func (m *Maglev) LocateBytes(key []byte) string { return m.LocateHash(Hash(key)) }

// LocateHash returns the node for a key hashed with [HashString] or [Hash],
// or "" if there are no nodes.
func (m *Maglev) LocateHash(h uint64) string {
	s := m.snap.Load()
	if s.table == nil {
		return ""
	}
	// The high word of h*size is floor(h*size/2^64): slot i owns a
	// contiguous range of hashes, which is what makes Spans possible.
	slot, _ := bits.Mul64(h, uint64(len(s.table)))
	return s.names[s.table[slot]]
}

// Spans returns the hash ranges each node owns, in hash order, covering the
// whole hash space (none if there are no nodes). It reads one snapshot, so
// concurrent changes do not show up halfway.
func (m *Maglev) Spans() iter.Seq[Span] {
	s := m.snap.Load()
	return func(yield func(Span) bool) {
		size := uint64(len(s.table))
		for i := uint64(0); i < size; {
			j := i + 1
			for j < size && s.table[j] == s.table[i] {
				j++
			}
			// Slot i starts at ceil(i * 2^64 / size).
			first, _ := bits.Div64(i, size-1, size)
			last := ^uint64(0)
			if j < size {
				next, _ := bits.Div64(j, size-1, size)
				last = next - 1
			}
			if !yield(Span{First: first, Last: last, Node: s.names[s.table[i]]}) {
				return
			}
			i = j
		}
	}
}

// Nodes returns the members in name order.
func (m *Maglev) Nodes() []string { return slices.Clone(m.snap.Load().names) }

// Len returns the number of nodes.
func (m *Maglev) Len() int { return len(m.snap.Load().names) }

// Weight returns a node's weight and whether it is a member.
func (m *Maglev) Weight(node string) (float64, bool) { return m.snap.Load().weight(node) }

// Stats returns a snapshot for metrics.
func (m *Maglev) Stats() MaglevStats {
	s := m.snap.Load()
	st := MaglevStats{Nodes: len(s.names), TableSize: m.size}
	for _, w := range s.weights {
		st.TotalWeight += w
	}
	if len(s.names) > 0 {
		owned := make([]int, len(s.names))
		for _, i := range s.table {
			owned[i]++
		}
		st.MinSlots, st.MaxSlots = slices.Min(owned), slices.Max(owned)
	}
	return st
}
