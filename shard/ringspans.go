package shard

import "math"

// spans yields the ring's ownership as hash ranges in increasing order.
// Each distinct point position (its first node in ring order, the one
// locate picks) owns the keys nearer to it than to its neighbors, the
// successor taking the midpoint: between neighbors p < q, q owns from
// p + ceil((q-p)/2). The cell that wraps past 2^64-1 is cut in two.
func (s *ringSnap) spans(yield func(Span) bool) {
	if len(s.chunks) == 0 {
		return
	}
	first := s.chunks[s.nextNonEmpty(len(s.chunks)-1)][1]
	last := lastWinner(s.chunks[s.prevNonEmpty(0)])
	firstHash, firstSlot := pos(first), slotOf(first)
	lastHash, lastSlot := pos(last), slotOf(last)
	out := spanMerger{s: s, yield: yield}
	if firstHash == lastHash {
		out.emit(0, math.MaxUint64, firstSlot)
		out.flush()
		return
	}
	// wrapStart is where the first point's cell begins, across the top.
	wrapStart := lastHash + halfUp(firstHash-lastHash)
	wraps := wrapStart > lastHash // the first point's cell wraps past zero
	start := uint64(0)
	if !wraps {
		if wrapStart > 0 {
			out.emit(0, wrapStart-1, lastSlot)
		}
		start = wrapStart
	}
	owner, prev := firstSlot, firstHash
	s.eachWinner(func(h uint64, slot uint32) bool {
		if h == firstHash {
			return true
		}
		b := prev + halfUp(h-prev)
		if !out.emit(start, b-1, owner) {
			return false
		}
		start, owner, prev = b, slot, h
		return true
	})
	if out.stopped {
		return
	}
	if wraps {
		out.emit(start, wrapStart-1, owner)
		out.emit(wrapStart, math.MaxUint64, firstSlot)
	} else {
		out.emit(start, math.MaxUint64, owner)
	}
	out.flush()
}

// halfUp returns ceil(g/2) without overflow.
func halfUp(g uint64) uint64 { return g/2 + g&1 }

// eachWinner calls f with every distinct point position and the slot
// that owns it, in order, until f returns false.
func (s *ringSnap) eachWinner(f func(h uint64, slot uint32) bool) {
	for _, c := range s.chunks {
		for i := 1; i < len(c)-1; i++ {
			if i > 1 && pos(c[i]) == pos(c[i-1]) {
				continue
			}
			if !f(pos(c[i]), slotOf(c[i])) {
				return
			}
		}
	}
}

// spanMerger joins adjacent ranges of one node before yielding them.
type spanMerger struct {
	s       *ringSnap
	yield   func(Span) bool
	pending Span
	slot    uint32
	has     bool
	stopped bool
}

// emit adds the range [first, last] owned by slot; it reports false once
// the consumer has stopped.
func (m *spanMerger) emit(first, last uint64, slot uint32) bool {
	if m.stopped {
		return false
	}
	if m.has && m.slot == slot {
		m.pending.Last = last
		return true
	}
	if m.has && !m.yield(m.pending) {
		m.stopped = true
		return false
	}
	m.pending = Span{First: first, Last: last, Node: m.s.names[slot]}
	m.slot, m.has = slot, true
	return true
}

func (m *spanMerger) flush() {
	if m.has && !m.stopped {
		m.stopped = !m.yield(m.pending)
	}
}
