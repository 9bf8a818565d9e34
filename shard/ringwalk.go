package shard

import "sync"

// ringWalk visits a ring's points in order of distance from a hash,
// nearest first, expanding from the hash in both directions one group of
// equal positions at a time. Its first point is the one locate picks, ties go
// the same way, and points of one group come in ring order. Preference
// lists and bounded-load placement both follow it, so a node's rank for a
// key depends only on how near its nearest point is.
type ringWalk struct {
	s    *ringSnap
	h    uint64
	left int // points not yet emitted

	rc, ri int // right head: chunk, start of its next group
	lc, le int // left head: chunk, end of its next group

	gc, gi, ge int // group being emitted: chunk, next index, last index
}

// walk starts a walk at h; the ring must not be empty.
func (s *ringSnap) walk(h uint64) ringWalk {
	c := int(h >> s.shift)
	ch := s.chunks[c]
	lo := s.seek(ch, h)
	w := ringWalk{s: s, h: h, left: s.points, gi: 1, ge: 0}
	w.rc, w.ri = c, lo
	if lo == len(ch)-1 {
		w.rc, w.ri = s.nextNonEmpty(c), 1
	}
	w.lc, w.le = c, lo-1
	if lo == 1 {
		w.lc = s.prevNonEmpty(c)
		w.le = len(s.chunks[w.lc]) - 2
	}
	return w
}

// next returns the slot of the next point, or false once every point has
// been visited.
func (w *ringWalk) next() (uint32, bool) {
	if w.gi > w.ge {
		if w.left == 0 {
			return 0, false
		}
		w.pickGroup()
	}
	slot := slotOf(w.s.chunks[w.gc][w.gi])
	w.gi++
	return slot, true
}

// pickGroup takes the nearer of the two heads' groups and advances that
// head past it.
func (w *ringWalk) pickGroup() {
	chunks := w.s.chunks
	rc, lc := chunks[w.rc], chunks[w.lc]
	if pos(rc[w.ri])-w.h <= w.h-pos(lc[w.le]) {
		end := w.ri
		for end+1 < len(rc)-1 && pos(rc[end+1]) == pos(rc[end]) {
			end++
		}
		w.gc, w.gi, w.ge = w.rc, w.ri, end
		if w.ri = end + 1; w.ri == len(rc)-1 {
			w.rc, w.ri = w.s.nextNonEmpty(w.rc), 1
		}
	} else {
		start := w.le
		for start > 1 && pos(lc[start-1]) == pos(lc[start]) {
			start--
		}
		w.gc, w.gi, w.ge = w.lc, start, w.le
		if w.le = start - 1; w.le == 0 {
			w.lc = w.s.prevNonEmpty(w.lc)
			w.le = len(chunks[w.lc]) - 2
		}
	}
	// When the heads meet they hold the same group; it is emitted once
	// because the walk ends after s.points points.
	w.left -= w.ge - w.gi + 1
}

// nextNonEmpty returns the first chunk after c, cyclically, holding points
// (c itself if it is the only one).
func (s *ringSnap) nextNonEmpty(c int) int {
	mask := len(s.chunks) - 1
	for c = (c + 1) & mask; empty(s.chunks[c]); c = (c + 1) & mask {
	}
	return c
}

// prevNonEmpty is nextNonEmpty going backward.
func (s *ringSnap) prevNonEmpty(c int) int {
	mask := len(s.chunks) - 1
	for c = (c - 1) & mask; empty(s.chunks[c]); c = (c - 1) & mask {
	}
	return c
}

// distinct collects distinct node slots without allocating: a short list
// for the usual few replicas, a pooled bitmap for long preference lists.
type distinct struct {
	few  [16]uint32
	n    int
	bits *bitset // nil unless more than len(few) slots are wanted
}

var bitsetPool = sync.Pool{New: func() any { return new(bitset) }}

func newDistinct(slots, want int) distinct {
	var d distinct
	if want > len(d.few) {
		d.bits = bitsetPool.Get().(*bitset)
		if words := (slots + 63) / 64; cap(*d.bits) < words {
			*d.bits = make(bitset, words)
		} else {
			*d.bits = (*d.bits)[:words]
		}
	}
	return d
}

// add records slot and reports whether it is new.
func (d *distinct) add(slot uint32) bool {
	if d.bits != nil {
		if d.bits.has(int(slot)) {
			return false
		}
		d.bits.set(int(slot))
		return true
	}
	for _, s := range d.few[:d.n] {
		if s == slot {
			return false
		}
	}
	d.few[d.n] = slot
	d.n++
	return true
}

func (d *distinct) release() {
	if d.bits != nil {
		clear(*d.bits)
		bitsetPool.Put(d.bits)
		d.bits = nil
	}
}
