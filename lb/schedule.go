package lb

import (
	"math/bits"
	"slices"
)

// The weighted pickers read a precomputed cycle: slot t of the cycle names
// the endpoint of pick t, so a pick costs one atomic increment, one remainder
// and one load whatever the weights. nginx's smooth weighted round-robin
// scans every endpoint per pick (O(n)) and, contrary to its reputation, can
// leave an endpoint more than one pick behind its ideal share (weights
// {3, 74, 1, 1, 1, 1, 2, 1, 1, 3, 3, 56, 3, 3, 3} lag 1.33 picks). The cycle
// here is a Pfair schedule instead (Baruah et al., 1996): the k-th pick of an
// endpoint with weight w out of a total W may not happen before slot
// floor((k-1)W/w) and must happen before slot ceil(kW/w), and earliest
// deadline first meets every such window on one processor because the
// weights fill it exactly. Meeting the windows is the same as
//
//	|picks_i(t) - t*w_i/W| < 1 for every endpoint i and every t,
//
// which is the smoothness guarantee the package documents: picks of an
// endpoint never run ahead of, nor fall behind, its ideal share by a whole
// pick. Ties between equal deadlines go to the heavier endpoint, which keeps
// heavy endpoints evenly spread (measured runs are shorter than nginx's).

// reduceWeights divides the weights by their greatest common divisor and, if
// they still sum to more than maxLen, rounds them to integers summing to
// about maxLen (largest remainder, each at least 1) so the cycle, and the
// memory it takes, stays bounded. It returns the weights and their sum.
func reduceWeights(w []uint64, maxLen int) ([]uint64, uint64) {
	out := make([]uint64, len(w))
	g := uint64(0)
	for _, x := range w {
		g = gcd(g, x)
	}
	var sum uint64
	for i, x := range w {
		out[i] = x / g
		sum += out[i]
	}
	if sum <= uint64(maxLen) {
		return out, sum
	}
	target := uint64(maxLen)
	rem := make([]uint64, len(w))
	var scaled uint64
	for i, x := range out {
		hi, lo := bits.Mul64(x, target)
		q, r := bits.Div64(hi, lo, sum)
		if q == 0 {
			q, r = 1, 0 // every endpoint keeps at least one slot
		}
		out[i], rem[i] = q, r
		scaled += q
	}
	if scaled < target {
		order := make([]int, len(out))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case rem[a] > rem[b]:
				return -1
			case rem[a] < rem[b]:
				return 1
			}
			return 0
		})
		for _, i := range order[:target-scaled] {
			out[i]++
		}
		scaled = target
	}
	g = 0
	for _, x := range out {
		g = gcd(g, x)
	}
	sum = 0
	for i := range out {
		out[i] /= g
		sum += out[i]
	}
	return out, sum
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pfairSchedule returns one cycle of picks for the given reduced weights
// (sum W, len(w) <= 1<<16): W slots, each naming an endpoint index. It runs in
// O(W log n) time.
func pfairSchedule(w []uint64, total uint64) []uint16 {
	sched := make([]uint16, total)
	next := make([]uint64, len(w))   // 1-based index of each endpoint's next pick
	deadline := func(i int) uint64 { // ceil(k*W / w)
		return (next[i]*total + w[i] - 1) / w[i]
	}
	release := func(i int) uint64 { // floor((k-1)*W / w)
		return (next[i] - 1) * total / w[i]
	}
	ready := make(slotHeap, 0, len(w))
	var waiting slotHeap
	for i := range w {
		next[i] = 1
		ready.push(slotEntry{first: deadline(i), second: ^w[i], idx: uint32(i)})
	}
	for t := range total {
		for len(waiting) > 0 && waiting[0].first <= t {
			e := waiting.pop()
			ready.push(slotEntry{first: deadline(int(e.idx)), second: ^w[e.idx], idx: e.idx})
		}
		e := ready.pop() // never empty: the windows fill every slot exactly
		i := int(e.idx)
		sched[t] = uint16(i)
		next[i]++
		if next[i] > w[i] {
			continue
		}
		if r := release(i); r > t+1 {
			waiting.push(slotEntry{first: r, idx: e.idx})
		} else {
			ready.push(slotEntry{first: deadline(i), second: ^w[i], idx: e.idx})
		}
	}
	return sched
}

// slotEntry orders lexicographically by (first, second, idx).
type slotEntry struct {
	first, second uint64
	idx           uint32
}

func (a slotEntry) less(b slotEntry) bool {
	if a.first != b.first {
		return a.first < b.first
	}
	if a.second != b.second {
		return a.second < b.second
	}
	return a.idx < b.idx
}

// slotHeap is a binary min-heap; container/heap's interface calls would
// double the build time of large schedules.
type slotHeap []slotEntry

func (h *slotHeap) push(e slotEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *slotHeap) pop() slotEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].less(s[l]) {
			m = r
		}
		if !s[m].less(s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
