package shard

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// agree checks a ring against the oracle of its membership on key hashes
// drawn from rng, plus hashes sitting exactly on and beside points. The
// oracle costs O(points) per hash, so big rings get fewer hashes.
func agree(t *testing.T, r *Ring, rng *rand.Rand) {
	t.Helper()
	s := r.snap.Load()
	checkSnap(t, s)
	o := newOracle(r, membership(r))
	budget := 200
	if len(o.points) > 0 {
		budget = min(200, max(20, 300_000/len(o.points)))
	}
	hs := make([]uint64, 0, 2*budget)
	for range budget {
		hs = append(hs, rng.Uint64())
	}
	for i := 0; i < len(o.points) && i < budget/3; i++ {
		p := o.points[rng.IntN(len(o.points))]
		hs = append(hs, p.hash, p.hash-1, p.hash+1)
	}
	buf := make([]string, 4)
	for _, h := range hs {
		require.Equal(t, o.locate(h), r.LocateHash(h), "owner of hash %#x", h)
		want, got := o.replicas(h, len(buf)), r.ReplicasHash(h, buf)
		require.Equal(t, len(want), len(got), "preference list length for hash %#x", h)
		if len(want) > 0 {
			require.Equal(t, want, got, "preference list of hash %#x", h)
		}
	}
}

func TestRingEmpty(t *testing.T) {
	r := NewRing(RingConfig{})
	assert.Equal(t, "", r.Locate("k"), "an empty ring locates nothing")
	assert.Equal(t, "", r.LocateBytes([]byte("k")), "an empty ring locates nothing")
	assert.Empty(t, r.Replicas("k", make([]string, 3)), "an empty ring has no replicas")
	assert.Empty(t, slices.Collect(r.Spans()), "an empty ring has no spans")
	assert.Equal(t, RingStats{}, r.Stats(), "an empty ring has zero stats")
	checkSnap(t, r.snap.Load())
}

func TestRingAgreesWithOracle(t *testing.T) {
	tests := []struct {
		name   string
		cfg    RingConfig
		weak   bool
		nodes  int
		weight func(i int) float64
	}{
		{name: "one node one point", cfg: RingConfig{VirtualNodes: 1}, nodes: 1},
		{name: "two nodes one point", cfg: RingConfig{VirtualNodes: 1}, nodes: 2},
		{name: "few points", cfg: RingConfig{VirtualNodes: 3}, nodes: 5},
		{name: "default points", nodes: 7},
		{name: "weights", cfg: RingConfig{VirtualNodes: 50}, nodes: 20, weight: func(i int) float64 { return 0.01 + float64(i%4) }},
		{name: "colliding points", cfg: RingConfig{VirtualNodes: 5}, weak: true, nodes: 6},
		{name: "colliding weights", cfg: RingConfig{VirtualNodes: 4}, weak: true, nodes: 9, weight: func(i int) float64 { return float64(1 + i%3) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			r := NewRing(tc.cfg)
			if tc.weak {
				r.pointHash = weakPointHash
			}
			for i := range tc.nodes {
				w := 1.0
				if tc.weight != nil {
					w = tc.weight(i)
				}
				require.NoError(t, r.AddWeighted(fmt.Sprintf("node-%d", i), w), "adding a new node succeeds")
				agree(t, r, rng)
			}
			for i := 0; i < tc.nodes; i += 2 {
				require.NoError(t, r.Remove(fmt.Sprintf("node-%d", i)), "removing a member succeeds")
				agree(t, r, rng)
			}
		})
	}
}

func TestRingErrors(t *testing.T) {
	r := NewRing(RingConfig{VirtualNodes: 10, MaxPoints: 100})
	require.NoError(t, r.Add("a", "b"), "adding two new nodes succeeds")
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"empty name", func() error { return r.Add("") }, ErrEmptyNode},
		{"duplicate member", func() error { return r.Add("a") }, ErrNodeExists},
		{"duplicate in call", func() error { return r.Add("c", "c") }, ErrNodeExists},
		{"zero weight", func() error { return r.AddWeighted("c", 0) }, ErrBadWeight},
		{"negative weight", func() error { return r.AddWeighted("c", -1) }, ErrBadWeight},
		{"NaN weight", func() error { return r.AddWeighted("c", nanWeight()) }, ErrBadWeight},
		{"infinite weight", func() error { return r.AddWeighted("c", infWeight()) }, ErrBadWeight},
		{"huge weight", func() error { return r.AddWeighted("c", 1e300) }, ErrTooManyPoints},
		{"over point budget", func() error { return r.AddWeighted("c", 8.1) }, ErrTooManyPoints},
		{"remove non-member", func() error { return r.Remove("zz") }, ErrNodeNotFound},
		{"remove twice in call", func() error { return r.Remove("a", "a") }, ErrNodeNotFound},
		{"reweight non-member", func() error { return r.SetWeight("zz", 1) }, ErrNodeNotFound},
		{"reweight to zero", func() error { return r.SetWeight("a", 0) }, ErrBadWeight},
		{"reweight over budget", func() error { return r.SetWeight("a", 9.1) }, ErrTooManyPoints},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := r.snap.Load()
			err := tc.op()
			require.ErrorIs(t, err, tc.want, "the change is refused with the documented error")
			var ne *NodeError
			require.True(t, errors.As(err, &ne), "membership errors are *NodeError, got %T", err)
			assert.Same(t, before, r.snap.Load(), "a refused change leaves the ring as it was")
		})
	}
	assert.Equal(t, []string{"a", "b"}, r.Nodes(), "membership unchanged after refused changes")
	require.NoError(t, r.AddWeighted("c", 8), "exactly filling the point budget is allowed")
	assert.Equal(t, 100, r.Stats().Points, "the ring holds its full budget")
}

func TestRingConfigValidate(t *testing.T) {
	tests := []struct {
		cfg RingConfig
		ok  bool
	}{
		{RingConfig{}, true},
		{RingConfig{VirtualNodes: MaxVirtualNodes, MaxPoints: MaxMaxPoints}, true},
		{RingConfig{VirtualNodes: -1}, false},
		{RingConfig{VirtualNodes: MaxVirtualNodes + 1}, false},
		{RingConfig{MaxPoints: -1}, false},
		{RingConfig{MaxPoints: MaxMaxPoints + 1}, false},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.ok {
			assert.NoError(t, err, "config %+v is valid", tc.cfg)
			continue
		}
		assert.ErrorIs(t, err, ErrBadConfig, "config %+v is invalid", tc.cfg)
		assert.PanicsWithValue(t, err.Error(), func() { NewRing(tc.cfg) }, "NewRing panics on config %+v", tc.cfg)
	}
}

// TestNodeLimits checks each partitioner's node limit: a Ring names at
// most 65,536 nodes, the others MaxNodes.
func TestNodeLimits(t *testing.T) {
	r := NewRing(RingConfig{VirtualNodes: 1})
	names := make([]string, maxRingNodes)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	require.NoError(t, r.Add(names...), "a ring takes 65,536 nodes")
	assert.ErrorIs(t, r.Add("one more"), ErrTooManyNodes, "a ring refuses the 65,537th node")
	require.NoError(t, r.Remove("7"), "removing a node succeeds")
	require.NoError(t, r.Add("one more"), "the freed slot takes a new node")
	checkSnap(t, r.snap.Load())

	tooMany := make([]string, MaxNodes+1) // refused before the names are read
	var j Jump
	assert.ErrorIs(t, j.Add(tooMany...), ErrTooManyNodes, "jump refuses more than MaxNodes")
	var hrw Rendezvous
	assert.ErrorIs(t, hrw.Add(tooMany...), ErrTooManyNodes, "rendezvous refuses more than MaxNodes")
	assert.Zero(t, j.Len()+hrw.Len(), "refused changes add nothing")
}
