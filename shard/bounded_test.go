package shard

import (
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBoundedConfigValidate(t *testing.T) {
	r := NewRing(RingConfig{})
	for _, tc := range []struct {
		factor float64
		ok     bool
	}{{0, true}, {1, true}, {1.25, true}, {100, true}, {0.99, false}, {-1, false}, {math.NaN(), false}, {math.Inf(1), false}} {
		cfg := BoundedConfig{CapacityFactor: tc.factor}
		err := cfg.Validate()
		if tc.ok {
			assert.NoError(t, err, "factor %v is valid", tc.factor)
			continue
		}
		assert.ErrorIs(t, err, ErrBadConfig, "factor %v is invalid", tc.factor)
		assert.Panics(t, func() { NewBounded(r, cfg) }, "NewBounded panics on factor %v", tc.factor)
	}
	assert.PanicsWithValue(t, "shard: NewBounded with a nil Ring", func() { NewBounded(nil, BoundedConfig{}) }, "a nil ring is a programming error")
}

// TestBoundedKeepsBound assigns keys and checks that no node ever holds
// more than ceil(c * mean * weight share), for several factors and
// weightings, and that most keys still land on their natural node.
func TestBoundedKeepsBound(t *testing.T) {
	keys := 50_000
	if raceEnabled {
		keys = 20_000
	}
	for _, tc := range []struct {
		name    string
		factor  float64
		weights []float64
		natural float64 // least share of keys on their ring owner
	}{
		{"c=1 uniform", 1, []float64{1}, 0.45},
		{"c=1.25 uniform", 1.25, []float64{1}, 0.95},
		{"c=2 uniform", 2, []float64{1}, 0.99},
		{"c=1.1 weighted", 1.1, []float64{0.5, 1, 2, 4}, 0.95},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRing(RingConfig{VirtualNodes: 64})
			weight := map[string]float64{}
			total := 0.0
			for i := range 40 {
				n := "node-" + strconv.Itoa(i)
				weight[n] = tc.weights[i%len(tc.weights)]
				total += weight[n]
				require.NoError(t, r.AddWeighted(n, weight[n]), "adding a node succeeds")
			}
			b := NewBounded(r, BoundedConfig{CapacityFactor: tc.factor})
			natural := 0
			for i := range keys {
				key := "key-" + strconv.Itoa(i)
				node, err := b.Assign(key)
				require.NoError(t, err, "assigning to a non-empty ring succeeds")
				if node == r.Locate(key) {
					natural++
				}
				if limit := math.Ceil(tc.factor * float64(i+1) * weight[node] / total); float64(b.Load(node)) > limit {
					require.Failf(t, "bound exceeded", "after %d keys node %s holds %d > %v", i+1, node, b.Load(node), limit)
				}
			}
			st := b.Stats()
			assert.Equal(t, keys, st.Assigned, "stats count every key")
			for n, w := range weight {
				assert.LessOrEqual(t, float64(b.Load(n)), math.Ceil(tc.factor*float64(keys)*w/total), "node %s stays within its capacity", n)
			}
			if len(tc.weights) == 1 {
				assert.LessOrEqual(t, st.MaxLoad, int(math.Ceil(tc.factor*float64(keys)/40)), "the busiest node stays within ceil(c * mean)")
			}
			t.Logf("%s: max load %d, %.3f of keys on their natural node", tc.name, st.MaxLoad, float64(natural)/float64(keys))
			assert.GreaterOrEqual(t, float64(natural)/float64(keys), tc.natural, "most keys stay on their natural node")
		})
	}
}

func TestBoundedEdges(t *testing.T) {
	r := NewRing(RingConfig{})
	b := NewBounded(r, BoundedConfig{CapacityFactor: 1})
	_, err := b.Assign("k")
	assert.ErrorIs(t, err, ErrNoNodes, "an empty ring cannot take keys")
	assert.Equal(t, BoundedStats{}, b.Stats(), "nothing assigned yet")

	// One node and the tightest factor: every key still finds room.
	require.NoError(t, r.Add("only"), "adding a node succeeds")
	for i := range 100 {
		node, err := b.Assign("k" + strconv.Itoa(i))
		require.NoError(t, err, "a one-node ring takes every key")
		require.Equal(t, "only", node, "the only node takes every key")
	}
	// A node far lighter than its point count suggests still only gets
	// its capacity.
	require.NoError(t, r.AddWeighted("tiny", 0.0001), "adding a light node succeeds")
	for i := range 100 {
		_, err := b.Assign("j" + strconv.Itoa(i))
		require.NoError(t, err, "assigning succeeds")
	}
	assert.LessOrEqual(t, float64(b.Load("tiny")), math.Ceil(200*0.0001/1.0001), "the light node takes at most its capacity")

	assert.False(t, b.Release("nobody"), "releasing from a node without keys is refused")
	assert.True(t, b.Release("only"), "releasing an assigned key succeeds")
	assert.Equal(t, 199, b.Stats().Assigned, "a release uncounts one key")
	// Removed nodes keep their count until released.
	require.NoError(t, r.Remove("only"), "removing a node succeeds")
	assert.Equal(t, b.Load("only"), b.Stats().Assigned-b.Load("tiny"), "the removed node keeps its keys")
	node, err := b.Assign("after")
	require.NoError(t, err, "assigning after a removal succeeds")
	assert.Equal(t, "tiny", node, "only the remaining node takes keys")
}

func TestBoundedConcurrent(t *testing.T) {
	r := NewRing(RingConfig{VirtualNodes: 32})
	require.NoError(t, r.Add("a", "b", "c", "d"), "adding nodes succeeds")
	b := NewBounded(r, BoundedConfig{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				node, err := b.Assign(strconv.Itoa(g*1000 + i))
				if err != nil {
					t.Errorf("assign failed: %v", err)
					return
				}
				if i%2 == 0 {
					b.Release(node)
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			if err := r.Add("e"); err != nil {
				t.Errorf("adding failed: %v", err)
			}
			if err := r.Remove("e"); err != nil {
				t.Errorf("removing failed: %v", err)
			}
		}
	})
	wg.Wait()
	st := b.Stats()
	assert.Equal(t, 1000, st.Assigned, "half of 2,000 assigned keys were released")
	sum := 0
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		sum += b.Load(n)
	}
	assert.Equal(t, st.Assigned, sum, "per-node counts add up to the total")
}
