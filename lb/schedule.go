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

// Heap keys pack an ordering into one uint64 so the schedule builder
// compares integers: deadline or release in the top 24 bits, the tie-break
// (heavier first) in the next 24, the endpoint index in the low 16. Totals
// stay below 2^24 because MaxScheduleLimit plus MaxEndpointsLimit does.
const (
	keyIndexBits  = 16
	keyWeightBits = 24
	keyWeightMask = 1<<keyWeightBits - 1
)

// pfairSchedule returns one cycle of picks for the given reduced weights
// (sum W < 2^24, len(w) <= 1<<16): W slots, each naming an endpoint index.
// It runs in O(W log n) time and, while it runs, takes 4 bytes per slot
// besides the 2 of the result: endpoints waiting for their next window sit
// in a bucket per release slot, so only released endpoints are in a heap.
func pfairSchedule(w []uint64, total uint64) []uint16 {
	sched := make([]uint16, total)
	next := make([]uint64, len(w)) // 1-based index of each endpoint's next pick
	readyKey := func(i uint64) uint64 {
		deadline := (next[i]*total + w[i] - 1) / w[i] // ceil(k*W / w)
		return deadline<<(keyWeightBits+keyIndexBits) | (keyWeightMask-w[i])<<keyIndexBits | i
	}
	// waiting[r] heads a list, linked through after, of the endpoints whose
	// next window opens at slot r.
	waiting := make([]int32, total)
	for r := range waiting {
		waiting[r] = -1
	}
	after := make([]int32, len(w))
	ready := make(keyHeap, 0, len(w))
	for i := range w {
		next[i] = 1
		ready.push(readyKey(uint64(i)))
	}
	const indexMask = 1<<keyIndexBits - 1
	for t := range total {
		for i := waiting[t]; i >= 0; i = after[i] {
			ready.push(readyKey(uint64(i)))
		}
		i := ready[0] & indexMask // never empty: the windows fill every slot exactly
		sched[t] = uint16(i)
		next[i]++
		if next[i] > w[i] {
			ready.pop() // done for this cycle
			continue
		}
		if r := (next[i] - 1) * total / w[i]; r > t+1 { // floor((k-1)*W / w)
			ready.pop()
			after[i], waiting[r] = waiting[r], int32(i)
			continue
		}
		ready.replaceTop(readyKey(i))
	}
	return sched
}

// keyHeap is a binary min-heap of packed keys; container/heap's interface
// calls would triple the build time of large schedules.
type keyHeap []uint64

func (h *keyHeap) push(k uint64) {
	*h = append(*h, k)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *keyHeap) pop() uint64 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down()
	return top
}

// replaceTop replaces the smallest key with k, cheaper than a pop and a
// push.
func (h *keyHeap) replaceTop(k uint64) {
	(*h)[0] = k
	h.down()
}

func (h keyHeap) down() {
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			m = r
		}
		if h[i] <= h[m] {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
