package shard

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// A point is one word: its position on the ring, the top 48 bits of an
// xxHash64, above the 16-bit slot of its node. Packing the owner next to
// the position means a lookup reads one array, and the ring costs 8 bytes
// per point. Two points share a position with probability 2^-48 per pair,
// and then ring order (by node name) decides, as for any collision.
const (
	slotBits = 16
	slotMask = 1<<slotBits - 1
	// maxRingNodes is the number of slots a point can name.
	maxRingNodes = 1 << slotBits
)

func pos(p uint64) uint64                    { return p &^ slotMask }
func slotOf(p uint64) uint32                 { return uint32(p & slotMask) }
func makePoint(h uint64, slot uint32) uint64 { return h&^slotMask | uint64(slot) }

// A chunk holds the points whose positions share the chunk's top bits, in
// ring order: by position, then by node name. Its first word copies the
// last point before the chunk (its predecessor) and its last word the
// first point after it (its successor), wrapping around the ring, so a
// lookup never leaves its chunk. An empty chunk holds just the two copies,
// and a run of empty chunks shares one slice.
func empty(c []uint64) bool { return len(c) == 2 }

// lastWinner returns the first point of a chunk's last group of equal
// positions: the point that owns the keys just after that position.
func lastWinner(c []uint64) uint64 {
	i := len(c) - 2
	for i > 1 && pos(c[i-1]) == pos(c[i]) {
		i--
	}
	return c[i]
}

// ringSnap is one immutable state of a Ring.
type ringSnap struct {
	shift  uint       // position >> shift is the chunk index; 64 with one chunk
	chunks [][]uint64 // nil when the ring has no points

	// Per-slot node data; a free slot has name "".
	names   []string
	weights []float64
	counts  []int32 // points per node

	points      int
	nodes       int
	totalWeight float64
}

// Chunk sizing: a full build aims at chunkTarget points per chunk; updates
// keep the table until the average leaves [chunkMin, chunkMax], so the
// O(points) rebuild happens only after the ring grows or shrinks fourfold.
// Bigger chunks mean a smaller table (cheaper to copy on a change, likelier
// to stay in cache) and more points to copy when a chunk changes; a lookup
// touches about one cache line of its chunk whatever the size (see seek).
const (
	chunkTarget = 64
	chunkMin    = 8
	chunkMax    = 256
)

// cloneMeta copies the per-slot arrays for the next snapshot; apply fills
// in the chunks.
func (s *ringSnap) cloneMeta() *ringSnap {
	return &ringSnap{
		shift:   s.shift,
		names:   slices.Clone(s.names),
		weights: slices.Clone(s.weights),
		counts:  slices.Clone(s.counts),
		points:  s.points,
		nodes:   s.nodes,
	}
}

// appendNodePoints appends points [from, to) of a node: point j sits at the
// xxHash64 of the name followed by j as 8 little-endian bytes. A short
// name is hashed whole with each point number; a long one is hashed once,
// each point continuing from a copy of that state. Both give the same
// hashes.
func appendNodePoints(dst []uint64, name string, slot uint32, from, to int) []uint64 {
	if len(name) <= shortName {
		buf := make([]byte, len(name)+8)
		copy(buf, name)
		for j := from; j < to; j++ {
			binary.LittleEndian.PutUint64(buf[len(name):], uint64(j))
			dst = append(dst, makePoint(xxhash.Sum64(buf), slot))
		}
		return dst
	}
	d := xxhash.New()
	_, _ = d.WriteString(name)
	var j8 [8]byte
	for j := from; j < to; j++ {
		p := *d
		binary.LittleEndian.PutUint64(j8[:], uint64(j))
		_, _ = p.Write(j8[:])
		dst = append(dst, makePoint(p.Sum64(), slot))
	}
	return dst
}

// shortName is the name length up to which hashing name and point number
// in one call beats continuing from a saved state.
const shortName = 64

// before reports whether point a comes before point b in ring order.
func before(a, b uint64, names []string) bool {
	if pos(a) != pos(b) {
		return pos(a) < pos(b)
	}
	return names[slotOf(a)] < names[slotOf(b)]
}

// sortPoints puts points in ring order. A point's word orders by position
// first, so it sorts the words as numbers and then orders each run of
// equal positions (rare) by name. Large inputs (building a whole ring) are
// first distributed by their top 16 bits, which leaves short runs to sort:
// linear time for uniform hashes.
func sortPoints(ps []uint64, names []string) {
	if len(ps) < radixMin {
		slices.Sort(ps)
	} else {
		starts := distributeTop16(ps)
		for i := range len(starts) - 1 {
			slices.Sort(ps[starts[i]:starts[i+1]])
		}
	}
	for i := 1; i < len(ps); i++ {
		if pos(ps[i]) != pos(ps[i-1]) {
			continue
		}
		j := i + 1
		for j < len(ps) && pos(ps[j]) == pos(ps[i]) {
			j++
		}
		slices.SortFunc(ps[i-1:j], func(a, b uint64) int { return strings.Compare(names[slotOf(a)], names[slotOf(b)]) })
		i = j
	}
}

// radixMin is the input size from which sortPoints distributes first.
const radixMin = 1 << 12

// distributeTop16 reorders ps by their top 16 bits (a counting sort) and
// returns the start of each of the 65536 runs plus the end.
func distributeTop16(ps []uint64) []int {
	starts := make([]int, 1<<16+1)
	for _, p := range ps {
		starts[p>>48+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	out := make([]uint64, len(ps))
	next := slices.Clone(starts[:1<<16])
	for _, p := range ps {
		d := p >> 48
		out[next[d]] = p
		next[d]++
	}
	copy(ps, out)
	return starts
}

// mergeRun appends to dst the ring-ordered run ws with the points of add
// inserted or those of rem deleted (one of the two is empty; both are in
// ring order). It copies the untouched stretches in blocks, since a change
// usually touches one or two points of a run.
func mergeRun(dst, ws, add, rem []uint64, names []string) []uint64 {
	i := 0
	for _, a := range add {
		p := i
		for p < len(ws) && !before(a, ws[p], names) {
			p++
		}
		dst = append(append(dst, ws[i:p]...), a)
		i = p
	}
	for _, r := range rem {
		p := i
		for p < len(ws) && (pos(ws[p]) < pos(r) || pos(ws[p]) == pos(r) && ws[p] != r) {
			p++
		}
		if p == len(ws) || ws[p] != r {
			continue // not present; cannot happen for points the ring placed
		}
		dst = append(dst, ws[i:p]...)
		i = p + 1
	}
	return append(dst, ws[i:]...)
}

// apply fills in next's chunks: old's points plus added minus removed.
// next already carries the new per-slot arrays.
func (next *ringSnap) apply(old *ringSnap, added, removed []uint64) *ringSnap {
	next.points = old.points + len(added) - len(removed)
	next.totalWeight = 0
	for _, w := range next.weights {
		next.totalWeight += w
	}
	switch {
	case len(added) == 0 && len(removed) == 0:
		next.shift, next.chunks = old.shift, old.chunks
	case next.points == 0:
		next.shift, next.chunks = 0, nil
	case len(old.chunks) == 0 || needsRebucket(next.points, len(old.chunks)):
		next.shift, next.chunks = buildChunks(old.flatten(added, removed, next.names))
	default:
		next.shift = old.shift
		next.chunks = old.updateChunks(added, removed, next.names)
	}
	return next
}

func needsRebucket(points, chunks int) bool {
	per := points / chunks
	return per > chunkMax || (chunks > 1 && per < chunkMin)
}

func (s *ringSnap) chunkOf(p uint64) int { return int(p >> s.shift) }

// runFor returns the end of the prefix of ps that falls in chunk c.
func (s *ringSnap) runFor(ps []uint64, c int) int {
	n := 0
	for n < len(ps) && s.chunkOf(ps[n]) == c {
		n++
	}
	return n
}

// flatten returns all points of s plus added minus removed, in ring order.
func (s *ringSnap) flatten(added, removed []uint64, names []string) []uint64 {
	out := make([]uint64, 0, s.points+len(added)-len(removed))
	for c, ch := range s.chunks {
		a, r := s.runFor(added, c), s.runFor(removed, c)
		out = mergeRun(out, ch[1:len(ch)-1], added[:a], removed[:r], names)
		added, removed = added[a:], removed[r:]
	}
	return mergeRun(out, nil, added, removed, names)
}

// buildChunks indexes a whole ring of points in ring order.
func buildChunks(ps []uint64) (uint, [][]uint64) {
	b := uint(0)
	for len(ps)>>b > chunkTarget {
		b++
	}
	shift := 64 - b
	chunks := make([][]uint64, 1<<b)
	var emptyRun []uint64 // shared by consecutive empty chunks
	at := 0
	for c := range chunks {
		end := at
		for end < len(ps) && int(ps[end]>>shift) == c {
			end++
		}
		if end == at && emptyRun != nil {
			chunks[c] = emptyRun
			continue
		}
		// The predecessor is the winner of the group before at, wrapping
		// to the ring's last group; the successor is the point at end,
		// wrapping to the first.
		p := at - 1
		if p < 0 {
			p = len(ps) - 1
		}
		for p > 0 && pos(ps[p-1]) == pos(ps[p]) {
			p--
		}
		ch := newChunk(ps[p], ps[at:end], ps[end%len(ps)])
		chunks[c] = ch
		emptyRun = nil
		if end == at {
			emptyRun = ch
		}
		at = end
	}
	return shift, chunks
}

func newChunk(pred uint64, interior []uint64, succ uint64) []uint64 {
	c := make([]uint64, 0, len(interior)+2)
	return append(append(append(c, pred), interior...), succ)
}

// updateChunks rebuilds the chunks that gain or lose points and refreshes
// the neighbor copies they affect, sharing every other chunk with s.
func (s *ringSnap) updateChunks(added, removed []uint64, names []string) [][]uint64 {
	tbl := slices.Clone(s.chunks)
	mask := len(tbl) - 1
	prev := func(c int) int { return (c - 1) & mask }
	next := func(c int) int { return (c + 1) & mask }
	fresh := newBitset(len(tbl)) // chunks built here, safe to modify
	// moved lists the rebuilt chunks whose edges changed: emptiness, first
	// point or last winner. Only those can change another chunk's copies.
	var moved []int
	for len(added) > 0 || len(removed) > 0 {
		c := len(tbl)
		if len(added) > 0 {
			c = s.chunkOf(added[0])
		}
		if len(removed) > 0 {
			c = min(c, s.chunkOf(removed[0]))
		}
		a, r := s.runFor(added, c), s.runFor(removed, c)
		old := s.chunks[c]
		last := len(old) - 1
		// Keep the old neighbor copies; the pass below fixes them where a
		// neighbor moved.
		ch := make([]uint64, 1, len(old)+a)
		ch[0] = old[0]
		ch = append(mergeRun(ch, old[1:last], added[:a], removed[:r], names), old[last])
		tbl[c] = ch
		fresh.set(c)
		if edgesMoved(old, ch) {
			moved = append(moved, c)
		}
		added, removed = added[a:], removed[r:]
	}
	// A chunk's copies change only if the nearest non-empty chunk before
	// or after it moved: collect each moved chunk, the empty chunks around
	// it and the first non-empty chunk on either side.
	var affected []int
	for _, c := range moved {
		affected = append(affected, c)
		for x := prev(c); x != c; x = prev(x) {
			if affected = append(affected, x); !empty(tbl[x]) {
				break
			}
		}
		for x := next(c); x != c; x = next(x) {
			if affected = append(affected, x); !empty(tbl[x]) {
				break
			}
		}
	}
	slices.Sort(affected)
	affected = slices.Compact(affected)
	done := newBitset(len(tbl))
	for _, x := range affected {
		if done.has(x) {
			continue
		}
		if empty(tbl[x]) {
			// Give the whole run of empty chunks around x one shared
			// chunk holding its two neighbors.
			a, z := x, x
			for empty(tbl[prev(a)]) {
				a = prev(a)
			}
			for empty(tbl[next(z)]) {
				z = next(z)
			}
			e := newChunk(lastWinner(tbl[prev(a)]), nil, tbl[next(z)][1])
			for y := a; ; y = next(y) {
				tbl[y] = e
				done.set(y)
				if y == z {
					break
				}
			}
			continue
		}
		done.set(x)
		p := prev(x)
		for empty(tbl[p]) {
			p = prev(p)
		}
		q := next(x)
		for empty(tbl[q]) {
			q = next(q)
		}
		pred, succ := lastWinner(tbl[p]), tbl[q][1]
		ch := tbl[x]
		end := len(ch) - 1
		if ch[0] == pred && ch[end] == succ {
			continue
		}
		if !fresh.has(x) {
			ch = slices.Clone(ch)
			tbl[x] = ch
		}
		ch[0], ch[end] = pred, succ
	}
	return tbl
}

// edgesMoved reports whether a rebuilt chunk differs from the old one in
// what its neighbors copy: whether it is empty, its first point and its
// last winner.
func edgesMoved(old, ch []uint64) bool {
	if empty(old) || empty(ch) {
		return empty(old) != empty(ch)
	}
	return old[1] != ch[1] || lastWinner(old) != lastWinner(ch)
}

// locate returns the slot of the point nearest to h; the ring must not be
// empty. On a tie the successor wins, and of equal positions the first in
// ring order.
func (s *ringSnap) locate(h uint64) uint32 {
	c := s.chunks[h>>s.shift]
	i := s.seek(c, h)
	succ, p := c[i], i-1
	if h-pos(c[p]) < pos(succ)-h { // unsigned arithmetic measures around the ring
		for p > 1 && pos(c[p-1]) == pos(c[p]) {
			p--
		}
		return slotOf(c[p])
	}
	return slotOf(succ)
}

// seek returns the index of the first interior point at or after h in
// chunk c (h's chunk), or of the successor copy if there is none.
//
// A big ring does not fit in cache, so what a lookup costs is the cache
// lines it waits for, one after another. Point positions are uniform
// hashes, so h's rank in the chunk is close to its offset's share of the
// chunk's span (within about sqrt(points)/2): seek guesses the rank from
// that and walks the few steps to the answer, touching one or two adjacent
// cache lines where a binary search waits for three or four (measured: a
// third faster at 1,000 nodes, and faster in cache too).
func (s *ringSnap) seek(c []uint64, h uint64) int {
	n := len(c) - 2
	guess, _ := bits.Mul64(h<<(64-s.shift), uint64(n)) // offset within the chunk, scaled to [0, n)
	i := 1 + int(guess)
	for i <= n && pos(c[i]) < h {
		i++
	}
	for i > 1 && pos(c[i-1]) >= h {
		i--
	}
	return i
}

// bitset is a fixed-size set of small integers.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
