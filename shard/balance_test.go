package shard

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// figureKeys is the number of keys behind every balance and movement
// figure: 2^20, "1M keys". The race detector slows lookups tenfold, so
// under it the same checks run on a quarter of the keys with limits
// widened by the extra sampling noise (see slack); the figures come from
// ordinary runs.
const figureKeys = 1 << 20

func testKeys() int {
	if raceEnabled {
		return figureKeys / 4
	}
	return figureKeys
}

// slack widens a limit for runs on fewer than figureKeys keys: three
// standard deviations of a node's Poisson share of keys.
func slack(nodes int) float64 {
	if testKeys() == figureKeys {
		return 0
	}
	return 3 * math.Sqrt(float64(nodes)/float64(testKeys()))
}

// figureHashes are the hashes of the test keys, computed once.
var figureHashes = sync.OnceValue(func() []uint64 {
	hs := make([]uint64, testKeys())
	for i := range hs {
		hs[i] = HashString("user:" + strconv.Itoa(i))
	}
	return hs
})

// hashLocator is what the figures need of an algorithm.
type hashLocator interface {
	LocateHash(h uint64) string
}

// assign locates every figure key.
func assign(p hashLocator) []string {
	hs := figureHashes()
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = p.LocateHash(h)
	}
	return out
}

// peakToMean is the busiest node's load over the mean load of n nodes.
func peakToMean(owners []string, n int) float64 {
	loads := map[string]int{}
	for _, o := range owners {
		loads[o]++
	}
	peak := 0
	for _, l := range loads {
		peak = max(peak, l)
	}
	return float64(peak) / (float64(len(owners)) / float64(n))
}

// movement compares two assignments: the fraction of keys that moved, and
// whether every moved key moved from or to the one node that changed.
func movement(before, after []string, changed string) (float64, int) {
	moved, stray := 0, 0
	for i := range before {
		if before[i] == after[i] {
			continue
		}
		moved++
		if before[i] != changed && after[i] != changed {
			stray++
		}
	}
	return float64(moved) / float64(len(before)), stray
}

// algorithm builds one partitioner over nodes and can add or remove one.
type algorithm struct {
	name   string
	build  func(nodes []string) (hashLocator, func(add string) error, func(remove string) error)
	target float64 // peak-to-mean limit at 1M keys
}

// defaultRings caches default rings over nodeNames(n): building a
// million points takes seconds under the race detector, and tests change
// clones, which share the snapshot.
var defaultRings sync.Map // int -> *Ring

func defaultRing(t testing.TB, n int) *Ring {
	if r, ok := defaultRings.Load(n); ok {
		return r.(*Ring).Clone()
	}
	r := NewRing(RingConfig{})
	require.NoError(t, r.Add(nodeNames(n)...), "building a default ring of %d nodes succeeds", n)
	defaultRings.Store(n, r)
	return r.Clone()
}

func ringAlgorithm(t *testing.T, target float64) algorithm {
	return algorithm{name: "ring", target: target, build: func(nodes []string) (hashLocator, func(string) error, func(string) error) {
		r := defaultRing(t, len(nodes))
		return r, func(n string) error { return r.Add(n) }, func(n string) error { return r.Remove(n) }
	}}
}

var alternatives = []algorithm{
	{name: "maglev", target: 1.12, build: func(nodes []string) (hashLocator, func(string) error, func(string) error) {
		m := NewMaglev(MaglevConfig{})
		if err := m.Add(nodes...); err != nil {
			panic(err)
		}
		return m, func(n string) error { return m.Add(n) }, func(n string) error { return m.Remove(n) }
	}},
	{name: "jump", target: 1.12, build: func(nodes []string) (hashLocator, func(string) error, func(string) error) {
		j := new(Jump)
		if err := j.Add(nodes...); err != nil {
			panic(err)
		}
		return j, func(n string) error { return j.Add(n) }, func(n string) error { return j.Remove(n) }
	}},
	{name: "rendezvous", target: 1.12, build: func(nodes []string) (hashLocator, func(string) error, func(string) error) {
		r := new(Rendezvous)
		if err := r.Add(nodes...); err != nil {
			panic(err)
		}
		return r, func(n string) error { return r.Add(n) }, func(n string) error { return r.Remove(n) }
	}},
}

// TestBalanceAndMovementFigures measures, over 2^20 keys, each algorithm's
// peak-to-mean load and the keys that move when one node joins and when
// one leaves. It asserts the targets: a default Ring at most 1.10 at 100
// nodes and 1.20 at 1,000; Maglev, jump and rendezvous at most 1.12; the
// Ring and rendezvous move at most 1.15 times the minimal fraction, never
// between two nodes that stay. Maglev's movement is reported, not bounded
// (it rebuilds its table). Run with -v to print the figures.
//
// Each pass over the keys costs a billion score computations for
// rendezvous at 1,000 nodes, so that case measures the join only (a leave
// is the same movement reversed), and the race detector leaves it out.
func TestBalanceAndMovementFigures(t *testing.T) {
	for _, n := range []int{100, 1000} {
		algs := append([]algorithm{ringAlgorithm(t, map[int]float64{100: 1.10, 1000: 1.20}[n])}, alternatives...)
		for _, alg := range algs {
			heavy := alg.name == "rendezvous" && n == 1000
			if heavy && raceEnabled {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", alg.name, n), func(t *testing.T) {
				nodes := nodeNames(n)
				p, add, remove := alg.build(nodes)
				before := assign(p)
				p2m := peakToMean(before, n)
				t.Logf("%s %d nodes, %d keys: peak-to-mean %.3f", alg.name, n, len(before), p2m)
				assert.LessOrEqual(t, p2m, alg.target+slack(n), "%s at %d nodes balances within its target", alg.name, n)

				const newcomer = "10.99.99.99:7000"
				require.NoError(t, add(newcomer), "adding a node succeeds")
				after := assign(p)
				frac, stray := movement(before, after, newcomer)
				join := frac * float64(n+1)
				t.Logf("%s %d nodes: a join moves %.3fx the minimum, %d keys between nodes that stay", alg.name, n, join, stray)
				if alg.name != "maglev" {
					assert.LessOrEqual(t, join, 1.15+slack(n), "a join moves at most 1.15x the minimal fraction")
					assert.Zero(t, stray, "no key moves between two nodes that stay when one joins")
				}
				if heavy {
					return
				}
				// Jump removes only its last node; the others lose one from
				// the middle of the membership.
				leaver := nodes[n/2]
				if alg.name == "jump" {
					leaver = newcomer
				}
				require.NoError(t, remove(leaver), "removing a node succeeds")
				frac, stray = movement(after, assign(p), leaver)
				leave := frac * float64(n+1)
				t.Logf("%s %d nodes: a leave moves %.3fx the minimum, %d keys between nodes that stay", alg.name, n, leave, stray)
				if alg.name != "maglev" {
					assert.LessOrEqual(t, leave, 1.15+slack(n), "a leave moves at most 1.15x the minimal fraction")
					assert.Zero(t, stray, "no key moves between two nodes that stay when one leaves")
				}
			})
		}
	}
}

// TestRingSharesExact checks the default ring's balance without sampling
// noise: each node's exact share of the hash space, from Spans.
func TestRingSharesExact(t *testing.T) {
	for _, tc := range []struct {
		nodes int
		limit float64
	}{{10, 1.10}, {100, 1.10}, {1000, 1.20}} {
		r := defaultRing(t, tc.nodes)
		share := map[string]float64{}
		for s := range r.Spans() {
			share[s.Node] += s.Fraction()
		}
		shares := slices.Collect(mapValues(share))
		peak := slices.Max(shares) * float64(tc.nodes)
		t.Logf("ring %d nodes: exact peak-to-mean share %.3f, lowest %.3f", tc.nodes, peak, slices.Min(shares)*float64(tc.nodes))
		assert.Len(t, shares, tc.nodes, "every node owns part of the ring")
		assert.LessOrEqual(t, peak, tc.limit, "the busiest of %d nodes owns at most %.2fx its share", tc.nodes, tc.limit)
		assert.InDelta(t, 1, sum(shares), 1e-9, "the spans cover the hash space exactly once")
	}
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}
