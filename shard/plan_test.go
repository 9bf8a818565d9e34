package shard

import (
	"iter"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestSpanAndMove(t *testing.T) {
	s := Span{First: 10, Last: 20, Node: "a"}
	assert.True(t, s.Contains(10) && s.Contains(20), "a span holds its bounds")
	assert.False(t, s.Contains(9) || s.Contains(21), "a span holds nothing outside its bounds")
	assert.Equal(t, 1.0, Span{Last: math.MaxUint64}.Fraction(), "the whole space is fraction 1")
	m := Move{First: 5, Last: 5}
	assert.True(t, m.Contains(5) && !m.Contains(6), "a one-hash move holds that hash only")
}

// checkPlan verifies a plan against the two partitioners it came from, at
// random hashes and at every move boundary.
func checkPlan(t fatalfer, plan Plan, from, to interface{ LocateHash(uint64) string }, rng *rand.Rand) {
	t.Helper()
	for i, m := range plan {
		if m.First > m.Last || m.From == m.To {
			t.Fatalf("move %d is malformed: %+v", i, m)
		}
		if i > 0 {
			p := plan[i-1]
			if p.Last >= m.First {
				t.Fatalf("moves %d and %d overlap or are out of order: %+v %+v", i-1, i, p, m)
			}
			if p.Last+1 == m.First && p.From == m.From && p.To == m.To {
				t.Fatalf("adjacent moves %d and %d were not merged: %+v %+v", i-1, i, p, m)
			}
		}
	}
	hs := []uint64{0, math.MaxUint64}
	for range 200 {
		hs = append(hs, rng.Uint64())
	}
	for _, m := range plan {
		hs = append(hs, m.First, m.Last, m.First-1, m.Last+1)
	}
	for _, h := range hs {
		a, b := from.LocateHash(h), to.LocateHash(h)
		mv, moves := plan.Find(h)
		if moves != (a != b) {
			t.Fatalf("hash %#x: owner %q -> %q, but the plan says moves=%v", h, a, b, moves)
		}
		if moves && (mv.From != a || mv.To != b) {
			t.Fatalf("hash %#x moves %q -> %q, plan says %q -> %q", h, a, b, mv.From, mv.To)
		}
	}
}

// TestDiffRings checks movement plans between random rings with rapid
// (default 100 cases).
func TestDiffRings(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := RingConfig{VirtualNodes: rapid.IntRange(1, 20).Draw(t, "vnodes")}
		build := func(label string) *Ring {
			r := NewRing(cfg)
			for _, n := range rapid.SliceOfNDistinct(rapid.SampledFrom(machineNames), 0, 8, rapid.ID).Draw(t, label) {
				if err := r.AddWeighted(n, rapid.SampledFrom(machineWeights).Draw(t, "weight")); err != nil {
					t.Fatal(err)
				}
			}
			return r
		}
		from, to := build("from"), build("to")
		plan, err := Diff(from, to)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, plan, from, to, rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 9)))
	})
}

func TestDiffMaglevAndMixed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := NewMaglev(MaglevConfig{TableSize: 251})
	require.NoError(t, a.Add("n1", "n2", "n3", "n4"), "building a Maglev succeeds")
	b := NewMaglev(MaglevConfig{TableSize: 251})
	require.NoError(t, b.Add("n1", "n2", "n3", "n4", "n5"), "building a Maglev succeeds")
	plan, err := Diff(a, b)
	require.NoError(t, err, "Diff of two Maglevs succeeds")
	checkPlan(t, plan, a, b, rng)
	assert.InDelta(t, 0.2, plan.Fraction(), 0.15, "about a fifth of the keys move to the fifth node")

	r := NewRing(RingConfig{VirtualNodes: 16})
	require.NoError(t, r.Add("n1", "n2", "n3"), "building a ring succeeds")
	plan, err = Diff(a, r)
	require.NoError(t, err, "Diff between a Maglev and a ring succeeds")
	checkPlan(t, plan, a, r, rng)

	empty := NewRing(RingConfig{})
	plan, err = Diff(empty, r)
	require.NoError(t, err, "Diff from an empty ring succeeds")
	checkPlan(t, plan, empty, r, rng)
	assert.InDelta(t, 1, plan.Fraction(), 1e-12, "everything moves onto a ring that was empty")
	for _, m := range plan {
		assert.Equal(t, "", m.From, "moves from an empty ring come from nowhere")
	}
	plan, err = Diff(r, r)
	require.NoError(t, err, "Diff of a ring with itself succeeds")
	assert.Empty(t, plan, "nothing moves between identical rings")
}

// spanList is a Spanner over fixed spans, for malformed input.
type spanList []Span

func (l spanList) Spans() iter.Seq[Span] {
	return func(yield func(Span) bool) {
		for _, s := range l {
			if !yield(s) {
				return
			}
		}
	}
}

func TestDiffBadSpans(t *testing.T) {
	good := spanList{{First: 0, Last: 99, Node: "a"}, {First: 100, Last: math.MaxUint64, Node: "b"}}
	for _, tc := range []struct {
		name  string
		spans spanList
	}{
		{"gap", spanList{{First: 0, Last: 9, Node: "a"}, {First: 11, Last: math.MaxUint64, Node: "b"}}},
		{"overlap", spanList{{First: 0, Last: 9, Node: "a"}, {First: 5, Last: math.MaxUint64, Node: "b"}}},
		{"not from zero", spanList{{First: 1, Last: math.MaxUint64, Node: "a"}}},
		{"short", spanList{{First: 0, Last: 9, Node: "a"}}},
		{"past the end", spanList{{First: 0, Last: math.MaxUint64, Node: "a"}, {First: 0, Last: 1, Node: "b"}}},
		{"reversed", spanList{{First: 0, Last: 9, Node: "a"}, {First: 10, Last: 3, Node: "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Diff(good, tc.spans)
			assert.ErrorIs(t, err, ErrBadSpans, "a malformed target is reported")
			_, err = Diff(tc.spans, good)
			assert.ErrorIs(t, err, ErrBadSpans, "a malformed source is reported")
		})
	}
	plan, err := Diff(good, spanList{{First: 0, Last: 49, Node: "a"}, {First: 50, Last: math.MaxUint64, Node: "b"}})
	require.NoError(t, err, "well-formed spans diff cleanly")
	assert.Equal(t, Plan{{First: 50, Last: 99, From: "a", To: "b"}}, plan, "exactly the changed range moves")
}
