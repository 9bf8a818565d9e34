package shard

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestJumpHashEdges(t *testing.T) {
	for _, tc := range []struct {
		buckets int
		want    int
	}{{-5, -1}, {0, -1}, {1, 0}} {
		for _, key := range []uint64{0, 1, golden, math.MaxUint64} {
			assert.Equal(t, tc.want, JumpHash(key, tc.buckets), "JumpHash(%d, %d)", key, tc.buckets)
		}
	}
	for _, n := range []int{2, 3, 1 << 31, 1<<62 + 12345, math.MaxInt} {
		for k := range uint64(1000) {
			b := JumpHash(k*golden, n)
			require.True(t, b >= 0 && b < n, "JumpHash(%d, %d) = %d is a bucket", k, n, b)
		}
	}
}

// TestJumpHashGrowth checks the defining property: growing from n to n+1
// buckets leaves a key where it was or moves it into the new bucket.
// Rapid's default 100 cases, each over 64 keys.
func TestJumpHashGrowth(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 1<<40).Draw(t, "buckets")
		key := rapid.Uint64().Draw(t, "key")
		for k := range uint64(64) {
			h := key + k // consecutive keys: the function must mix them itself
			was, now := JumpHash(h, n), JumpHash(h, n+1)
			if now != was && now != n {
				t.Fatalf("key %d moved from %d to %d when bucket %d was added", h, was, now, n)
			}
		}
	})
}

// TestJumpHashUniform checks bucket counts with a chi-square test over
// consecutive integer keys, for bucket counts on both sides of powers of
// two (where the algorithm switches blocks).
func TestJumpHashUniform(t *testing.T) {
	const keys = 1 << 18
	for _, n := range []int{2, 3, 7, 8, 9, 100, 1000, 1024, 1025} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			counts := make([]int, n)
			for k := range uint64(keys) {
				counts[JumpHash(k, n)]++
			}
			expect := float64(keys) / float64(n)
			chi2 := 0.0
			for _, c := range counts {
				chi2 += (float64(c) - expect) * (float64(c) - expect) / expect
			}
			df := float64(n - 1)
			assert.Less(t, chi2, df+6*math.Sqrt(2*df), "bucket counts over %d buckets fit a uniform distribution", n)
		})
	}
}

func TestJump(t *testing.T) {
	var j Jump // the zero value works
	assert.Equal(t, "", j.Locate("k"), "an empty Jump locates nothing")
	assert.Equal(t, 0, j.Len(), "an empty Jump has no nodes")
	require.NoError(t, j.Add("a", "b", "c"), "adding new nodes succeeds")
	require.NoError(t, j.Add("d"), "adding another node succeeds")
	assert.Equal(t, []string{"a", "b", "c", "d"}, j.Nodes(), "nodes keep bucket order")
	assert.Equal(t, JumpStats{Nodes: 4}, j.Stats(), "stats count the buckets")

	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"empty name", func() error { return j.Add("") }, ErrEmptyNode},
		{"existing node", func() error { return j.Add("b") }, ErrNodeExists},
		{"repeated in call", func() error { return j.Add("x", "x") }, ErrNodeExists},
		{"remove middle", func() error { return j.Remove("b") }, ErrNotLast},
		{"remove unknown", func() error { return j.Remove("zz") }, ErrNodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.op(), tc.want, "the change is refused")
			assert.Equal(t, []string{"a", "b", "c", "d"}, j.Nodes(), "a refused change leaves the nodes alone")
		})
	}
	for i := range 1000 {
		key := "key-" + strconv.Itoa(i)
		want := j.Nodes()[JumpHash(HashString(key), 4)]
		require.Equal(t, want, j.Locate(key), "Locate is JumpHash of the key's hash")
		require.Equal(t, want, j.LocateBytes([]byte(key)), "LocateBytes agrees with Locate")
	}
	require.NoError(t, j.Remove("d"), "removing the last node succeeds")
	assert.Equal(t, []string{"a", "b", "c"}, j.Nodes(), "the last node is gone")
	require.NoError(t, j.Add("e"), "a node can take the freed bucket")
	assert.Equal(t, []string{"a", "b", "c", "e"}, j.Nodes(), "the new node is bucket 3")
}
