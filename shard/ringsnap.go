package shard

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// entry is one point on the ring: its hash and the slot of its node.
type entry struct {
	hash  uint64
	owner uint32
}

// chunk holds the points whose hashes share the chunk's top bits, sorted
// by hash and, on equal hashes, by node name. hashes[0] and owners[0] copy
// the last point before the chunk (its predecessor), and the final element
// the first point after it (its successor), wrapping around the ring, so a
// lookup never leaves its chunk. An empty chunk holds just the two copies;
// a run of empty chunks shares one.
type chunk struct {
	hashes []uint64
	owners []uint32
}

func (c *chunk) empty() bool { return len(c.hashes) == 2 }

// first returns the chunk's first point.
func (c *chunk) first() (uint64, uint32) { return c.hashes[1], c.owners[1] }

// lastWinner returns the first point of the chunk's last group of equal
// hashes: the point that owns the keys just after that hash.
func (c *chunk) lastWinner() (uint64, uint32) {
	i := len(c.hashes) - 2
	for i > 1 && c.hashes[i-1] == c.hashes[i] {
		i--
	}
	return c.hashes[i], c.owners[i]
}

// ringSnap is one immutable state of a Ring.
type ringSnap struct {
	shift  uint     // hash >> shift is the chunk index; 64 with one chunk
	chunks []*chunk // nil when the ring has no points

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
const (
	chunkTarget = 32
	chunkMin    = 4
	chunkMax    = 128
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
// xxHash64 of the name followed by j as 8 little-endian bytes. The name is
// hashed once; each point continues from a copy of that state.
func appendNodePoints(dst []entry, name string, slot uint32, from, to int) []entry {
	d := xxhash.New()
	_, _ = d.WriteString(name)
	var j8 [8]byte
	for j := from; j < to; j++ {
		p := *d
		binary.LittleEndian.PutUint64(j8[:], uint64(j))
		_, _ = p.Write(j8[:])
		dst = append(dst, entry{hash: p.Sum64(), owner: slot})
	}
	return dst
}

// compareEntries is the ring order: by hash, then by node name, so
// colliding points sit in an order that depends only on the membership.
func compareEntries(a, b entry, names []string) int {
	switch {
	case a.hash < b.hash:
		return -1
	case a.hash > b.hash:
		return 1
	}
	return strings.Compare(names[a.owner], names[b.owner])
}

// sortEntries puts points in ring order. Equal hashes are rare, so it
// sorts by hash alone and then orders each run of equal hashes by name.
// Large inputs (building a whole ring) are first distributed by their top
// 16 bits, which leaves short runs to sort: linear time for uniform hashes.
func sortEntries(es []entry, names []string) {
	byHash := func(a, b entry) int { return cmpUint64(a.hash, b.hash) }
	if len(es) < radixMin {
		slices.SortFunc(es, byHash)
	} else {
		starts := distributeTop16(es)
		for i := range len(starts) - 1 {
			slices.SortFunc(es[starts[i]:starts[i+1]], byHash)
		}
	}
	for i := 1; i < len(es); i++ {
		if es[i].hash != es[i-1].hash {
			continue
		}
		j := i + 1
		for j < len(es) && es[j].hash == es[i].hash {
			j++
		}
		slices.SortFunc(es[i-1:j], func(a, b entry) int { return strings.Compare(names[a.owner], names[b.owner]) })
		i = j
	}
}

// radixMin is the input size from which sortEntries distributes first.
const radixMin = 1 << 12

// distributeTop16 reorders es by the top 16 bits of the hash (a counting
// sort) and returns the start of each of the 65536 runs plus the end.
func distributeTop16(es []entry) []int {
	starts := make([]int, 1<<16+1)
	for _, e := range es {
		starts[e.hash>>48+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	out := make([]entry, len(es))
	next := slices.Clone(starts[:1<<16])
	for _, e := range es {
		d := e.hash >> 48
		out[next[d]] = e
		next[d]++
	}
	copy(es, out)
	return starts
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mergeRun appends to dst the ring-ordered run (hs, os) with the points
// of add inserted or those of rem deleted (one of the two is empty; both
// are in ring order). It copies the untouched stretches in blocks, since a
// change usually touches one or two points of a run.
func mergeRun(dstH []uint64, dstO []uint32, hs []uint64, os []uint32, add, rem []entry, names []string) ([]uint64, []uint32) {
	i := 0
	for _, a := range add {
		p := i
		for p < len(hs) && (hs[p] < a.hash || hs[p] == a.hash && names[os[p]] <= names[a.owner]) {
			p++
		}
		dstH, dstO = append(dstH, hs[i:p]...), append(dstO, os[i:p]...)
		dstH, dstO = append(dstH, a.hash), append(dstO, a.owner)
		i = p
	}
	for _, r := range rem {
		p := i
		for p < len(hs) && (hs[p] < r.hash || hs[p] == r.hash && os[p] != r.owner) {
			p++
		}
		if p == len(hs) || hs[p] != r.hash {
			continue // not present; cannot happen for points the ring placed
		}
		dstH, dstO = append(dstH, hs[i:p]...), append(dstO, os[i:p]...)
		i = p + 1
	}
	return append(dstH, hs[i:]...), append(dstO, os[i:]...)
}

// apply fills in next's chunks: old's points plus added minus removed.
// next already carries the new per-slot arrays.
func (next *ringSnap) apply(old *ringSnap, added, removed []entry) *ringSnap {
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
		hs, os := old.flatten(added, removed, next.names)
		next.shift, next.chunks = buildChunks(hs, os)
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

func (s *ringSnap) chunkOf(h uint64) int { return int(h >> s.shift) }

// runFor returns the end of the prefix of es whose hashes fall in chunk c.
func (s *ringSnap) runFor(es []entry, c int) int {
	n := 0
	for n < len(es) && s.chunkOf(es[n].hash) == c {
		n++
	}
	return n
}

// flatten returns all points of s plus added minus removed, in ring order.
func (s *ringSnap) flatten(added, removed []entry, names []string) ([]uint64, []uint32) {
	n := s.points + len(added) - len(removed)
	hs, os := make([]uint64, 0, n), make([]uint32, 0, n)
	for c, ch := range s.chunks {
		a, r := s.runFor(added, c), s.runFor(removed, c)
		last := len(ch.hashes) - 1
		hs, os = mergeRun(hs, os, ch.hashes[1:last], ch.owners[1:last], added[:a], removed[:r], names)
		added, removed = added[a:], removed[r:]
	}
	return mergeRun(hs, os, nil, nil, added, removed, names)
}

// buildChunks indexes a whole ring in ring order.
func buildChunks(hs []uint64, os []uint32) (uint, []*chunk) {
	b := uint(0)
	for len(hs)>>b > chunkTarget {
		b++
	}
	shift := 64 - b
	chunks := make([]*chunk, 1<<b)
	var emptyRun *chunk // shared by consecutive empty chunks
	pos := 0
	for c := range chunks {
		end := pos
		for end < len(hs) && int(hs[end]>>shift) == c {
			end++
		}
		if end == pos && emptyRun != nil {
			chunks[c] = emptyRun
			continue
		}
		// The predecessor is the winner of the group before pos, wrapping
		// to the ring's last group; the successor is the point at end,
		// wrapping to the first.
		p := pos - 1
		if p < 0 {
			p = len(hs) - 1
		}
		for p > 0 && hs[p-1] == hs[p] {
			p--
		}
		sc := end % len(hs)
		ch := newChunk(hs[p], os[p], hs[pos:end], os[pos:end], hs[sc], os[sc])
		chunks[c] = ch
		emptyRun = nil
		if end == pos {
			emptyRun = ch
		}
		pos = end
	}
	return shift, chunks
}

func newChunk(ph uint64, po uint32, hs []uint64, os []uint32, sh uint64, so uint32) *chunk {
	c := &chunk{hashes: make([]uint64, 0, len(hs)+2), owners: make([]uint32, 0, len(hs)+2)}
	c.hashes = append(append(append(c.hashes, ph), hs...), sh)
	c.owners = append(append(append(c.owners, po), os...), so)
	return c
}

// updateChunks rebuilds the chunks that gain or lose points and refreshes
// the neighbor copies they affect, sharing every other chunk with s.
func (s *ringSnap) updateChunks(added, removed []entry, names []string) []*chunk {
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
			c = s.chunkOf(added[0].hash)
		}
		if len(removed) > 0 {
			c = min(c, s.chunkOf(removed[0].hash))
		}
		a, r := s.runFor(added, c), s.runFor(removed, c)
		old := s.chunks[c]
		last := len(old.hashes) - 1
		hs := make([]uint64, 1, last+1+a)
		os := make([]uint32, 1, last+1+a)
		hs, os = mergeRun(hs, os, old.hashes[1:last], old.owners[1:last], added[:a], removed[:r], names)
		// Keep the old neighbor copies; the pass below fixes them where a
		// neighbor moved.
		ch := &chunk{hashes: append(hs, old.hashes[last]), owners: append(os, old.owners[last])}
		ch.hashes[0], ch.owners[0] = old.hashes[0], old.owners[0]
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
			if affected = append(affected, x); !tbl[x].empty() {
				break
			}
		}
		for x := next(c); x != c; x = next(x) {
			if affected = append(affected, x); !tbl[x].empty() {
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
		if tbl[x].empty() {
			// Give the whole run of empty chunks around x one shared
			// chunk holding its two neighbors.
			a, z := x, x
			for tbl[prev(a)].empty() {
				a = prev(a)
			}
			for tbl[next(z)].empty() {
				z = next(z)
			}
			ph, po := tbl[prev(a)].lastWinner()
			sh, so := tbl[next(z)].first()
			e := newChunk(ph, po, nil, nil, sh, so)
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
		for tbl[p].empty() {
			p = prev(p)
		}
		q := next(x)
		for tbl[q].empty() {
			q = next(q)
		}
		ph, po := tbl[p].lastWinner()
		sh, so := tbl[q].first()
		ch := tbl[x]
		end := len(ch.hashes) - 1
		if ch.hashes[0] == ph && ch.owners[0] == po && ch.hashes[end] == sh && ch.owners[end] == so {
			continue
		}
		if !fresh.has(x) {
			ch = &chunk{hashes: slices.Clone(ch.hashes), owners: slices.Clone(ch.owners)}
			tbl[x] = ch
		}
		ch.hashes[0], ch.owners[0], ch.hashes[end], ch.owners[end] = ph, po, sh, so
	}
	return tbl
}

// edgesMoved reports whether a rebuilt chunk differs from the old one in
// what its neighbors copy: whether it is empty, its first point and its
// last winner.
func edgesMoved(old, ch *chunk) bool {
	if old.empty() || ch.empty() {
		return old.empty() != ch.empty()
	}
	oh, oo := old.first()
	nh, no := ch.first()
	if oh != nh || oo != no {
		return true
	}
	oh, oo = old.lastWinner()
	nh, no = ch.lastWinner()
	return oh != nh || oo != no
}

// locate returns the slot of the point nearest to h; the ring must not be
// empty. On a tie the successor wins, and of equal hashes the first in ring
// order.
func (s *ringSnap) locate(h uint64) uint32 {
	c := s.chunks[h>>s.shift]
	hs := c.hashes
	lo := searchChunk(hs, h)
	p := lo - 1
	if h-hs[p] < hs[lo]-h { // unsigned arithmetic measures around the ring
		for p > 1 && hs[p-1] == hs[p] {
			p--
		}
		return c.owners[p]
	}
	return c.owners[lo]
}

// searchChunk returns the index of the first interior point >= h in a
// chunk's hashes, or of the successor copy if there is none.
func searchChunk(hs []uint64, h uint64) int {
	lo, hi := 1, len(hs)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if hs[mid] < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// bitset is a fixed-size set of small integers.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
