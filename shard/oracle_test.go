package shard

import (
	"cmp"
	"slices"
)

// oracle is a deliberately naive model of a Ring: every point in one
// sorted slice, rebuilt from the membership alone, searched by brute force.
// The Ring must agree with it on every lookup.
type oracle struct {
	points []oraclePoint // ring order: hash, then name
	names  []string      // node index -> name
}

type oraclePoint struct {
	hash uint64
	name string
	node int // index into names
}

// newOracle places round(weight*vnodes) points (at least one) per member,
// with the ring's point hash.
func newOracle(r *Ring, weights map[string]float64) oracle {
	var o oracle
	for name, w := range weights {
		count, _ := r.pointCount(w)
		for _, p := range r.appendPoints(nil, name, 0, 0, count) {
			o.points = append(o.points, oraclePoint{pos(p), name, len(o.names)})
		}
		o.names = append(o.names, name)
	}
	slices.SortFunc(o.points, func(a, b oraclePoint) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.name, b.name))
	})
	return o
}

// rank orders points as a walk from h must visit them: by distance, a
// tie between sides going to the point at or after h, and equal hashes in
// ring order.
type rank struct {
	dist  uint64
	left  bool
	index int
}

func (a rank) less(b rank) bool {
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	if a.left != b.left {
		return !a.left
	}
	return a.index < b.index
}

func (o oracle) rankOf(h uint64, i int) rank {
	right, left := o.points[i].hash-h, h-o.points[i].hash
	return rank{dist: min(right, left), left: right > left, index: i}
}

// locate is the node of the first point of the walk order.
func (o oracle) locate(h uint64) string {
	if len(o.points) == 0 {
		return ""
	}
	best := o.rankOf(h, 0)
	for i := range o.points {
		if r := o.rankOf(h, i); r.less(best) {
			best = r
		}
	}
	return o.points[best.index].name
}

// replicas is the walk order without repeated nodes: nodes ranked by their
// best point.
func (o oracle) replicas(h uint64, n int) []string {
	best := make([]rank, len(o.names))
	seen := make([]bool, len(o.names))
	for i, p := range o.points {
		if r := o.rankOf(h, i); !seen[p.node] || r.less(best[p.node]) {
			best[p.node], seen[p.node] = r, true
		}
	}
	nodes := make([]int, len(o.names))
	for i := range nodes {
		nodes[i] = i
	}
	slices.SortFunc(nodes, func(a, b int) int {
		if best[a].less(best[b]) {
			return -1
		}
		return 1
	})
	out := make([]string, min(n, len(nodes)))
	for i := range out {
		out[i] = o.names[nodes[i]]
	}
	return out
}

// checkSnap verifies a ring snapshot's internal invariants: every chunk
// holds exactly its range of positions in ring order, the neighbor copies
// are the true neighbors, only empty chunks are shared, and the counts add
// up.
func checkSnap(t fatalfer, s *ringSnap) {
	t.Helper()
	if s.points == 0 {
		if len(s.chunks) != 0 {
			t.Fatalf("empty ring has %d chunks", len(s.chunks))
		}
		return
	}
	if len(s.chunks) == 0 || len(s.chunks)&(len(s.chunks)-1) != 0 {
		t.Fatalf("chunk count %d is not a power of two", len(s.chunks))
	}
	if s.shift != uint(64-(bitsLen(len(s.chunks))-1)) {
		t.Fatalf("shift %d does not match %d chunks", s.shift, len(s.chunks))
	}
	var all []uint64
	for c, ch := range s.chunks {
		if len(ch) < 2 {
			t.Fatalf("chunk %d has %d words", c, len(ch))
		}
		if c > 0 && !empty(ch) && &ch[0] == &s.chunks[c-1][0] {
			t.Fatalf("non-empty chunk %d shares storage with chunk %d", c, c-1)
		}
		for _, p := range ch[1 : len(ch)-1] {
			if got := int(p >> s.shift); got != c {
				t.Fatalf("chunk %d holds point %#x of chunk %d", c, p, got)
			}
			all = append(all, p)
		}
	}
	if len(all) != s.points {
		t.Fatalf("chunks hold %d points, snapshot says %d", len(all), s.points)
	}
	counts := make([]int32, len(s.names))
	nodes := 0
	for i, p := range all {
		if s.names[slotOf(p)] == "" {
			t.Fatalf("point %#x owned by free slot %d", p, slotOf(p))
		}
		counts[slotOf(p)]++
		if i > 0 && before(p, all[i-1], s.names) {
			t.Fatalf("points out of ring order at %d: %#x after %#x", i, p, all[i-1])
		}
	}
	for slot, n := range s.names {
		if n != "" {
			nodes++
		}
		if counts[slot] != s.counts[slot] {
			t.Fatalf("node %q has %d points, snapshot says %d", n, counts[slot], s.counts[slot])
		}
	}
	if nodes != s.nodes {
		t.Fatalf("%d named slots, snapshot says %d nodes", nodes, s.nodes)
	}
	// Neighbor copies: the predecessor of a chunk is the winner of the last
	// group before its first point; the successor is the first point after.
	at := 0
	for c, ch := range s.chunks {
		k := len(ch) - 2
		p := (at - 1 + len(all)) % len(all)
		for p > 0 && pos(all[p-1]) == pos(all[p]) {
			p--
		}
		if ch[0] != all[p] {
			t.Fatalf("chunk %d predecessor copy %#x, want %#x", c, ch[0], all[p])
		}
		if succ := all[(at+k)%len(all)]; ch[len(ch)-1] != succ {
			t.Fatalf("chunk %d successor copy %#x, want %#x", c, ch[len(ch)-1], succ)
		}
		at += k
	}
}

// fatalfer is the part of testing.TB and *rapid.T the checkers use.
type fatalfer interface {
	Helper()
	Fatalf(format string, args ...any)
}

func bitsLen(n int) int {
	b := 0
	for n > 0 {
		b++
		n >>= 1
	}
	return b
}

// weakPointHash places points on few distinct hashes, so collisions
// between nodes and within a node are everywhere.
func weakPointHash(name string, j int) uint64 {
	return mix64(mix64(HashString(name)^uint64(j)*golden)%7) | 1
}

// membership reads a ring's members and weights.
func membership(r *Ring) map[string]float64 {
	m := map[string]float64{}
	for _, n := range r.Nodes() {
		w, _ := r.Weight(n)
		m[n] = w
	}
	return m
}
