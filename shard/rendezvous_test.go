package shard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestRendezvousBasics(t *testing.T) {
	var r Rendezvous // the zero value works
	assert.Equal(t, "", r.Locate("k"), "an empty Rendezvous locates nothing")
	assert.Empty(t, r.Replicas("k", make([]string, 2)), "an empty Rendezvous has no replicas")
	require.NoError(t, r.Add("a", "b"), "adding new nodes succeeds")
	require.NoError(t, r.AddWeighted("c", 2), "adding a weighted node succeeds")
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"empty name", func() error { return r.Add("") }, ErrEmptyNode},
		{"existing node", func() error { return r.Add("a") }, ErrNodeExists},
		{"repeated in call", func() error { return r.Add("x", "x") }, ErrNodeExists},
		{"bad weight", func() error { return r.AddWeighted("x", -1) }, ErrBadWeight},
		{"remove unknown", func() error { return r.Remove("a", "zz") }, ErrNodeNotFound},
		{"reweight unknown", func() error { return r.SetWeight("zz", 1) }, ErrNodeNotFound},
		{"reweight to NaN", func() error { return r.SetWeight("a", nanWeight()) }, ErrBadWeight},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.op(), tc.want, "the change is refused")
			assert.Equal(t, []string{"a", "b", "c"}, r.Nodes(), "a refused change leaves the members alone")
		})
	}
	w, ok := r.Weight("c")
	assert.True(t, ok && w == 2, "Weight reports the member's weight")
	_, ok = r.Weight("zz")
	assert.False(t, ok, "Weight reports non-members")
	assert.Equal(t, RendezvousStats{Nodes: 3, TotalWeight: 4}, r.Stats(), "stats count members and weight")
	assert.Equal(t, r.Locate("k"), r.LocateBytes([]byte("k")), "LocateBytes agrees with Locate")
	assert.Len(t, r.Replicas("k", make([]string, 5)), 3, "replicas stop at the member count")
}

// TestRendezvousWeightedShares checks that each node's share of keys is
// its share of the total weight.
func TestRendezvousWeightedShares(t *testing.T) {
	var r Rendezvous
	weights := map[string]float64{"a": 1, "b": 2, "c": 3, "d": 0.5, "e": 3.5}
	total := 0.0
	for n, w := range weights {
		require.NoError(t, r.AddWeighted(n, w), "adding a weighted node succeeds")
		total += w
	}
	const keys = 200_000
	counts := map[string]int{}
	for i := range keys {
		counts[r.Locate("key-"+strconv.Itoa(i))]++
	}
	for n, w := range weights {
		assert.InDelta(t, w/total, float64(counts[n])/keys, 0.006, "node %s gets its weight share", n)
	}
}

// TestRendezvousScoreOrders checks the two lookup paths: with equal
// weights the unrolled raw-draw maximum must pick exactly the node that
// the weighted score picks, ties and all.
func TestRendezvousScoreOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 33} {
		m := members{names: make([]string, n), weights: make([]float64, n)}
		for i := range n {
			m.names[i], m.weights[i] = fmt.Sprint(i), 2
		}
		uniform := newHRWSnap(m)
		weighted := newHRWSnap(m)
		weighted.uniform = false
		if n > 2 {
			// Force a tie between two nodes: the lower index must win.
			uniform.seeds[n-1], weighted.seeds[n-1] = uniform.seeds[1], weighted.seeds[1]
		}
		for range 2000 {
			h := rng.Uint64()
			best := weighted.score(h, 0)
			for i := 1; i < n; i++ {
				if c := weighted.score(h, i); c.beats(best) {
					best = c
				}
			}
			require.Equal(t, best.index, argmaxRaw(h, uniform.seeds), "raw maximum and weighted score agree on %d nodes", n)
		}
	}
}

// TestRendezvousChanges checks with rapid (default 100 cases) that a change
// moves keys only to or from the changed node and that preference lists
// only gain or lose that node.
func TestRendezvousChanges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r Rendezvous
		names := rapid.SliceOfNDistinct(rapid.SampledFrom(machineNames), 1, 10, rapid.ID).Draw(t, "members")
		for _, n := range names {
			if err := r.AddWeighted(n, rapid.SampledFrom(machineWeights).Draw(t, "weight")); err != nil {
				t.Fatal(err)
			}
		}
		changed := rapid.SampledFrom(machineNames).Draw(t, "changed")
		var op func() error
		if _, member := r.Weight(changed); !member {
			op = func() error { return r.AddWeighted(changed, rapid.SampledFrom(machineWeights).Draw(t, "new weight")) }
		} else if rapid.Bool().Draw(t, "remove") {
			op = func() error { return r.Remove(changed) }
		} else {
			op = func() error { return r.SetWeight(changed, rapid.SampledFrom(machineWeights).Draw(t, "new weight")) }
		}
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 5))
		hs := make([]uint64, 300)
		before := make([]string, len(hs))
		lists := make([][]string, len(hs))
		for i := range hs {
			hs[i] = rng.Uint64()
			before[i] = r.LocateHash(hs[i])
			lists[i] = slices.Clone(r.ReplicasHash(hs[i], make([]string, 4)))
		}
		if err := op(); err != nil {
			t.Fatal(err)
		}
		for i, h := range hs {
			now := r.LocateHash(h)
			if now != before[i] && now != changed && before[i] != changed {
				t.Fatalf("key %#x moved from %q to %q when only %q changed", h, before[i], now, changed)
			}
			list := r.ReplicasHash(h, make([]string, 4))
			if (len(list) == 0) != (now == "") || len(list) > 0 && list[0] != now {
				t.Fatalf("preference list %v does not start with owner %q", list, now)
			}
			old := slices.DeleteFunc(lists[i], func(n string) bool { return n == changed })
			cur := slices.DeleteFunc(slices.Clone(list), func(n string) bool { return n == changed })
			short, long := old, cur
			if len(short) > len(long) {
				short, long = long, short
			}
			if !slices.Equal(short, long[:len(short)]) {
				t.Fatalf("preference list of %#x went from %v to %v when %q changed", h, lists[i], list, changed)
			}
		}
	})
}
