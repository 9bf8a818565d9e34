package lb

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// checkSmooth fails unless, at every point of the cycle, each endpoint's
// picks are within one of its exact share: |c_i(t) - t*w_i/W| < 1. The
// under-share of an endpoint is largest just before each of its picks and
// the over-share just after, so checking those instants covers all t.
func checkSmooth(t require.TestingT, w []uint64, total uint64, sched []uint16) {
	require.Len(t, sched, int(total), "a cycle has one slot per unit of weight")
	count := make([]uint64, len(w))
	for s, e := range sched {
		i := int(e)
		require.Less(t, i, len(w), "slot %d names a valid endpoint", s)
		k := count[i] + 1 // this is the k-th pick of i
		// before: s*w/W - (k-1) < 1, after: k - (s+1)*w/W < 1
		if behind, ahead := uint64(s)*w[i] >= k*total, k*total >= (uint64(s)+1)*w[i]+total; behind || ahead {
			require.Failf(t, "schedule not smooth", "endpoint %d (weight %d of %d) is a whole pick behind (%v) or ahead (%v) at slot %d",
				i, w[i], total, behind, ahead, s)
		}
		count[i] = k
	}
	for i := range w {
		require.Equal(t, w[i], count[i], "endpoint %d gets exactly its weight per cycle", i)
	}
}

// weightSets draws weight sets of several shapes: uniform, heavy-tailed, and
// one heavy endpoint among many light ones.
func weightSets() *rapid.Generator[[]uint64] {
	return rapid.OneOf(
		rapid.SliceOfN(rapid.Uint64Range(1, 300), 1, 60),
		rapid.Custom(func(t *rapid.T) []uint64 {
			n := rapid.IntRange(1, 100).Draw(t, "n")
			w := make([]uint64, n)
			for i := range w {
				w[i] = uint64(1) << rapid.IntRange(0, 8).Draw(t, "exp")
			}
			return w
		}),
		rapid.Custom(func(t *rapid.T) []uint64 {
			n := rapid.IntRange(2, 300).Draw(t, "n")
			w := make([]uint64, n)
			for i := range w {
				w[i] = 1
			}
			w[rapid.IntRange(0, n-1).Draw(t, "heavy")] = rapid.Uint64Range(2, 5000).Draw(t, "weight")
			return w
		}),
	)
}

func TestScheduleIsSmoothForAnyWeights(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := weightSets().Draw(t, "weights")
		w, total := reduceWeights(raw, MaxScheduleLimit)
		checkSmooth(t, w, total, pfairSchedule(w, total))
	})
}

func TestScheduleHeavyAmongLight(t *testing.T) {
	w := []uint64{100}
	for range 99 {
		w = append(w, 1)
	}
	sched := pfairSchedule(w, 199)
	checkSmooth(t, w, 199, sched)
	// The heavy endpoint takes every other slot: never two light picks
	// in a row, never more than two heavy ones (across the cycle's wrap).
	for s := range sched {
		next := sched[(s+1)%len(sched)]
		if sched[s] != 0 {
			require.Equal(t, uint16(0), next, "a light pick at slot %d is followed by the heavy endpoint", s)
		}
	}
}

// nginxSequence is nginx's smooth weighted round-robin (ngx_http_upstream_
// get_peer), the algorithm the package is compared with.
func nginxSequence(w []uint64) []uint16 {
	var total int64
	for _, x := range w {
		total += int64(x)
	}
	current := make([]int64, len(w))
	seq := make([]uint16, 0, total)
	for range total {
		best := 0
		for i := range w {
			current[i] += int64(w[i])
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq = append(seq, uint16(best))
	}
	return seq
}

// maxDeviation returns max over t and i of |c_i(t) - t*w_i/W|.
func maxDeviation(w []uint64, seq []uint16) float64 {
	var total float64
	for _, x := range w {
		total += float64(x)
	}
	count := make([]float64, len(w))
	worst := 0.0
	for t, e := range seq {
		count[e]++
		for i := range w {
			worst = max(worst, abs(count[i]-float64(t+1)*float64(w[i])/total))
		}
	}
	return worst
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestScheduleBeatsNginxOnItsCounterexample(t *testing.T) {
	w := []uint64{3, 74, 1, 1, 1, 1, 2, 1, 1, 3, 3, 56, 3, 3, 3}
	var total uint64
	for _, x := range w {
		total += x
	}
	require.GreaterOrEqual(t, maxDeviation(w, nginxSequence(w)), 1.3,
		"nginx's smooth weighted round-robin lags a whole pick for these weights")
	sched := pfairSchedule(w, total)
	checkSmooth(t, w, total, sched)
	require.Less(t, maxDeviation(w, sched), 1.0, "the Pfair schedule stays within one pick")
}

func TestScheduleFromAnyOffset(t *testing.T) {
	// A balancer starts at a random slot. Its deviation from its own
	// start is the difference of two in-cycle deviations, so below 2, and
	// every full cycle from any offset gives each endpoint its weight.
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.SliceOfN(rapid.Uint64Range(1, 50), 2, 20).Draw(t, "weights")
		w, total := reduceWeights(raw, MaxScheduleLimit)
		sched := pfairSchedule(w, total)
		offset := rapid.IntRange(0, int(total)-1).Draw(t, "offset")
		count := make([]uint64, len(w))
		for k := range total {
			count[sched[(uint64(offset)+k)%total]]++
			for i := range w {
				dev := float64(count[i]) - float64(k+1)*float64(w[i])/float64(total)
				if dev <= -2 || dev >= 2 {
					t.Fatalf("endpoint %d deviates %.3f picks from offset %d", i, dev, offset)
				}
			}
		}
		for i := range w {
			if count[i] != w[i] {
				t.Fatalf("endpoint %d got %d picks in a cycle, want %d", i, count[i], w[i])
			}
		}
	})
}

func TestReduceWeights(t *testing.T) {
	t.Run("divides by the gcd", func(t *testing.T) {
		w, total := reduceWeights([]uint64{300, 600, 900}, 1<<16)
		require.Equal(t, []uint64{1, 2, 3}, w, "weights divided by their gcd")
		require.Equal(t, uint64(6), total, "total of reduced weights")
	})
	t.Run("keeps exact weights within the bound", func(t *testing.T) {
		w, total := reduceWeights([]uint64{1000, 1}, 1001)
		require.Equal(t, []uint64{1000, 1}, w, "no rounding when the sum fits")
		require.Equal(t, uint64(1001), total, "total unchanged")
	})
	t.Run("rounds huge sums to the bound", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			raw := rapid.SliceOfN(rapid.Uint64Range(1, 1e9), 1, 300).Draw(t, "weights")
			maxLen := rapid.IntRange(len(raw), 1<<16).Draw(t, "maxLen")
			w, total := reduceWeights(raw, maxLen)
			var rawTotal, sum float64
			for i := range raw {
				rawTotal += float64(raw[i])
				sum += float64(w[i])
				if w[i] == 0 {
					t.Fatalf("endpoint %d lost its last slot", i)
				}
			}
			if uint64(sum) != total {
				t.Fatalf("total %d, weights sum to %v", total, sum)
			}
			if total > uint64(maxLen+len(raw)) {
				t.Fatalf("total %d exceeds the bound %d plus one slot per endpoint", total, maxLen)
			}
			for i := range raw {
				// Each share is off by at most two slots of the rounded cycle
				// (one for rounding, one for the slots given to endpoints that
				// would have rounded to zero).
				got, want := float64(w[i])/sum, float64(raw[i])/rawTotal
				if d := abs(got - want); d > 2/sum+float64(len(raw))/sum {
					t.Fatalf("endpoint %d share %.6f, want %.6f", i, got, want)
				}
			}
		})
	})
}

func TestCycleCounterMatchesRemainder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := rapid.OneOf(rapid.Uint64Range(1, 1<<22), rapid.Uint64Range(1, 1<<31-1)).Draw(t, "d")
		a := rapid.Uint64Range(0, 1<<32-1).Draw(t, "a")
		if got := newCycleCounter(d).mod(a); got != a%d {
			t.Fatalf("%d mod %d = %d, got %d", a, d, a%d, got)
		}
	})
	for _, d := range []uint64{1, 2, 3, 7, 199, 1<<16 + 1, 1<<31 - 1} {
		c := newCycleCounter(d)
		for _, a := range []uint64{0, 1, d - 1, d, d + 1, 1<<32 - 1, 1 << 31} {
			require.Equal(t, a%d, c.mod(a), "%d mod %d", a, d)
		}
	}
}

func TestCycleCounterWrapsWithoutJumping(t *testing.T) {
	for _, d := range []uint64{1, 7, 199, 65_537} {
		c := newCycleCounter(d)
		var counter atomic.Uint64
		counter.Store(c.wrap - 5)
		prev := c.mod(c.wrap - 5)
		for range 20 {
			pos := c.next(&counter)
			require.Equal(t, (prev+1)%d, pos, "positions stay consecutive across the wrap (d=%d)", d)
			prev = pos
		}
		require.Less(t, counter.Load(), uint64(100), "the counter was brought back down (d=%d)", d)
	}
	// A pick that stalls after drawing the wrap value: others keep going
	// and every drawn multiple of wrap is taken off exactly once.
	c := newCycleCounter(199)
	var counter atomic.Uint64
	counter.Store(c.wrap - 1)
	staller := counter.Add(1) // draws wrap, then stalls
	for k := range 10 {
		require.Equal(t, uint64(k+1)%199, c.next(&counter), "picks during the stall continue the cycle")
	}
	require.Equal(t, uint64(0), c.reduce(&counter, staller), "the stalled pick lands on its own position")
	require.Equal(t, uint64(10), counter.Load(), "and takes wrap off the counter once")
}
