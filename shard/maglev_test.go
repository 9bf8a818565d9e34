package shard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaglevConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		size int
		ok   bool
	}{{0, true}, {2, true}, {13, true}, {65537, true}, {-1, false}, {1, false}, {4, false}, {65535, false}, {MaxMaglevTableSize + 1, false}} {
		err := MaglevConfig{TableSize: tc.size}.Validate()
		if tc.ok {
			assert.NoError(t, err, "table size %d is valid", tc.size)
			continue
		}
		assert.ErrorIs(t, err, ErrBadConfig, "table size %d is invalid", tc.size)
		assert.Panics(t, func() { NewMaglev(MaglevConfig{TableSize: tc.size}) }, "NewMaglev panics on table size %d", tc.size)
	}
}

func TestMaglevTable(t *testing.T) {
	m := NewMaglev(MaglevConfig{TableSize: 1009})
	assert.Equal(t, "", m.Locate("k"), "an empty Maglev locates nothing")
	assert.Empty(t, slices.Collect(m.Spans()), "an empty Maglev has no spans")
	names := make([]string, 37)
	for i := range names {
		names[i] = fmt.Sprintf("node-%d", i)
	}
	require.NoError(t, m.Add(names...), "adding new nodes succeeds")
	st := m.Stats()
	assert.LessOrEqual(t, st.MaxSlots-st.MinSlots, 1, "every node owns within one slot of the others")
	assert.Equal(t, 1009, st.TableSize, "stats report the table size")

	// The table depends only on the membership, not on the order of
	// changes.
	other := NewMaglev(MaglevConfig{TableSize: 1009})
	shuffled := slices.Clone(names)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, n := range shuffled {
		require.NoError(t, other.Add(n), "adding a node succeeds")
	}
	require.NoError(t, other.Add("extra"), "adding a node succeeds")
	require.NoError(t, other.Remove("extra"), "removing a node succeeds")
	assert.Equal(t, m.snap.Load().table, other.snap.Load().table, "the same members build the same table")

	assertSpansMatchLookups(t, m)
	assert.ErrorIs(t, m.Add("node-3"), ErrNodeExists, "adding a member again is refused")
	assert.ErrorIs(t, m.Remove("zz"), ErrNodeNotFound, "removing a non-member is refused")
	assert.ErrorIs(t, m.SetWeight("node-3", 0), ErrBadWeight, "a zero weight is refused")
}

func TestMaglevWeights(t *testing.T) {
	m := NewMaglev(MaglevConfig{TableSize: 10007})
	weights := map[string]float64{"a": 1, "b": 2, "c": 4, "d": 0.5}
	for n, w := range weights {
		require.NoError(t, m.AddWeighted(n, w), "adding a weighted node succeeds")
	}
	slots := map[string]int{}
	snap := m.snap.Load()
	for _, i := range snap.table {
		slots[snap.names[i]]++
	}
	for n, w := range weights {
		assert.InDelta(t, w/7.5, float64(slots[n])/10007, 0.01, "node %s owns its weight share of the table", n)
	}
	require.NoError(t, m.SetWeight("c", 1), "reweighting succeeds")
	w, ok := m.Weight("c")
	assert.True(t, ok && w == 1, "the new weight is reported")
	assertSpansMatchLookups(t, m)
}

func TestMaglevTooManyNodes(t *testing.T) {
	m := NewMaglev(MaglevConfig{TableSize: 5})
	require.NoError(t, m.Add("a", "b", "c", "d", "e"), "as many nodes as slots fit")
	assert.ErrorIs(t, m.Add("f"), ErrTooManyNodes, "more nodes than slots are refused")
	assert.Equal(t, 5, m.Len(), "the refused node was not added")
	st := m.Stats()
	assert.Equal(t, 1, st.MinSlots, "each node owns one slot")
	assert.Equal(t, 1, st.MaxSlots, "each node owns one slot")
}

// assertSpansMatchLookups checks that spans tile the hash space and that
// LocateHash agrees with them at and beside every boundary.
func assertSpansMatchLookups(t *testing.T, p interface {
	Spanner
	LocateHash(uint64) string
}) {
	t.Helper()
	next := uint64(0)
	var last Span
	for s := range p.Spans() {
		require.Equal(t, next, s.First, "spans are contiguous")
		require.LessOrEqual(t, s.First, s.Last, "spans are not empty")
		require.NotEqual(t, last.Node, s.Node, "adjacent spans of one node are merged")
		for _, h := range []uint64{s.First, s.Last, s.First + (s.Last-s.First)/2} {
			require.Equal(t, s.Node, p.LocateHash(h), "hash %#x of span %+v", h, s)
		}
		next, last = s.Last+1, s
	}
	require.Equal(t, uint64(0), next, "spans end at the top of the hash space")
}
