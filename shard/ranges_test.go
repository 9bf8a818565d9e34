package shard

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRangesBasics(t *testing.T) {
	r := NewRanges(RangesConfig{MaxRanges: 4, MaxKeyLen: 8})
	assert.Equal(t, "", r.Locate("anything"), "the first range starts unassigned")
	assert.Equal(t, Range{}, r.Lookup("x"), "one range covers every key")
	require.NoError(t, r.Assign("", "s0"), "the first range can be assigned")
	require.NoError(t, r.Split("m"), "splitting a range succeeds")
	require.NoError(t, r.Assign("m", "s1"), "the new range can be assigned")
	require.NoError(t, r.Split("t"), "splitting again succeeds")
	assert.Equal(t, []Range{
		{Start: "", End: "m", Node: "s0"},
		{Start: "m", End: "t", Node: "s1"},
		{Start: "t", End: "", Node: "s1"},
	}, slices.Collect(r.All()), "ranges list in key order, the split keeping its node")
	for key, want := range map[string]string{"": "s0", "a": "s0", "lzzz": "s0", "m": "s1", "m\x00": "s1", "s": "s1", "t": "s1", "zzz": "s1"} {
		assert.Equal(t, want, r.Locate(key), "owner of %q", key)
		assert.Equal(t, want, r.LocateBytes([]byte(key)), "LocateBytes agrees for %q", key)
		assert.True(t, r.Lookup(key).Contains(key), "Lookup(%q) contains it", key)
	}
	assert.Equal(t, RangesStats{Ranges: 3, Nodes: 2}, r.Stats(), "stats count ranges and nodes")

	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"split existing", func() error { return r.Split("m") }, ErrSplitExists},
		{"split at the start", func() error { return r.Split("") }, ErrSplitExists},
		{"split key too long", func() error { return r.Split("123456789") }, ErrKeyTooLong},
		{"merge the first range", func() error { return r.Merge("") }, ErrNoSplit},
		{"merge a non-split", func() error { return r.Merge("n") }, ErrNoSplit},
		{"assign a non-split", func() error { return r.Assign("n", "s2") }, ErrNoSplit},
		{"assign no node", func() error { return r.Assign("m", "") }, ErrEmptyNode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := r.snap.Load()
			assert.ErrorIs(t, tc.op(), tc.want, "the change is refused")
			assert.Same(t, before, r.snap.Load(), "a refused change leaves the ranges alone")
		})
	}
	var re *RangeError
	require.True(t, errors.As(r.Merge(strings.Repeat("k", 100)), &re), "range errors are *RangeError")
	assert.Less(t, len(re.Error()), 120, "a long key is clipped in the message")

	require.NoError(t, r.Split("x"), "a fourth range fits")
	assert.ErrorIs(t, r.Split("y"), ErrTooManyRanges, "a fifth range does not")
	require.NoError(t, r.Merge("m"), "merging succeeds")
	assert.Equal(t, "s0", r.Locate("p"), "the merged range takes the lower range's node")
	assert.Equal(t, Range{Start: "", End: "t", Node: "s0"}, r.Lookup("p"), "the merged range spans both")
}

func TestRangesConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg RangesConfig
		ok  bool
	}{
		{RangesConfig{}, true},
		{RangesConfig{MaxRanges: MaxMaxRanges, MaxKeyLen: MaxMaxKeyLen}, true},
		{RangesConfig{MaxRanges: -1}, false},
		{RangesConfig{MaxRanges: MaxMaxRanges + 1}, false},
		{RangesConfig{MaxKeyLen: -1}, false},
		{RangesConfig{MaxKeyLen: MaxMaxKeyLen + 1}, false},
	} {
		err := tc.cfg.Validate()
		if tc.ok {
			assert.NoError(t, err, "config %+v is valid", tc.cfg)
			continue
		}
		assert.ErrorIs(t, err, ErrBadConfig, "config %+v is invalid", tc.cfg)
		assert.Panics(t, func() { NewRanges(tc.cfg) }, "NewRanges panics on config %+v", tc.cfg)
	}
}

func TestDiffRanges(t *testing.T) {
	build := func(splits []string, owners []string) *Ranges {
		r := NewRanges(RangesConfig{})
		for _, s := range splits {
			require.NoError(t, r.Split(s), "split %q", s)
		}
		starts := append([]string{""}, splits...)
		for i, o := range owners {
			if o != "" {
				require.NoError(t, r.Assign(starts[i], o), "assign %q", starts[i])
			}
		}
		return r
	}
	a := build([]string{"g", "p"}, []string{"s0", "s1", "s2"})
	b := build([]string{"d", "g", "k"}, []string{"s0", "s0", "s3", "s3"})
	assert.Equal(t, []RangeMove{
		{Start: "g", End: "p", From: "s1", To: "s3"},
		{Start: "p", End: "", From: "s2", To: "s3"},
	}, DiffRanges(a, b), "only ranges whose node changes move; splits alone move nothing")
	assert.Empty(t, DiffRanges(a, a), "nothing moves between identical partitions")
	empty := NewRanges(RangesConfig{})
	assert.Equal(t, []RangeMove{
		{Start: "", End: "g", From: "", To: "s0"},
		{Start: "g", End: "p", From: "", To: "s1"},
		{Start: "p", End: "", From: "", To: "s2"},
	}, DiffRanges(empty, a), "assigning an unassigned partition moves everything from nowhere")
}

// rangesModel is the fuzz target's reference: split points and owners as
// plain sorted slices.
type rangesModel struct {
	starts, owners []string
}

func (m *rangesModel) find(key string) int {
	i := len(m.starts) - 1
	for i > 0 && m.starts[i] > key {
		i--
	}
	return i
}

// FuzzRangesSplitMerge applies a byte-encoded sequence of splits, merges
// and assignments to a Ranges and to a plain model, checking after every
// step that they agree, that a refused operation changes nothing, that a
// merge undoes a split, and that DiffRanges describes each change exactly.
func FuzzRangesSplitMerge(f *testing.F) {
	f.Add([]byte("\x00m\x00\x02m\x01\x01m\x00"))
	f.Add([]byte("\x00b\x00\x00d\x00\x00c\x00\x01c\x00\x01b\x00\x02d\x03"))
	f.Add([]byte("\x00\x00\x01\x00\x02\x00\x05"))
	f.Add([]byte("\x00zz\x00\x00z\x00\x00zzz\x00\x02z\x07\x01zz\x00\x01zzz\x00"))
	f.Add([]byte("\x00a\x00\x00a\x00\x00\xff\xfe\x00\x01\xff\xfe\x00\x02\xff\xfe\x01"))
	f.Fuzz(func(t *testing.T, program []byte) {
		r := NewRanges(RangesConfig{MaxRanges: 16, MaxKeyLen: 6})
		m := &rangesModel{starts: []string{""}, owners: []string{""}}
		for len(program) > 0 {
			op := program[0] % 3
			key, rest, _ := strings.Cut(string(program[1:]), "\x00")
			program = []byte(rest)
			before := r.snap.Load()
			prev := NewRanges(RangesConfig{})
			prev.snap.Store(before)
			var err error
			switch op {
			case 0:
				err = r.Split(key)
				i := m.find(key)
				switch {
				case len(key) > 6:
					require.ErrorIs(t, err, ErrKeyTooLong, "split %q", key)
				case m.starts[i] == key:
					require.ErrorIs(t, err, ErrSplitExists, "split %q", key)
				case len(m.starts) >= 16:
					require.ErrorIs(t, err, ErrTooManyRanges, "split %q", key)
				default:
					require.NoError(t, err, "split %q", key)
					m.starts = slices.Insert(m.starts, i+1, key)
					m.owners = slices.Insert(m.owners, i+1, m.owners[i])
					assert.Empty(t, DiffRanges(prev, r), "a split moves no key")
					// Merging right back restores the partition exactly.
					require.NoError(t, r.Merge(key), "merge %q after splitting it", key)
					require.Equal(t, slices.Collect(prev.All()), slices.Collect(r.All()), "merge undoes split at %q", key)
					require.NoError(t, r.Split(key), "split %q again", key)
				}
			case 1:
				err = r.Merge(key)
				i := m.find(key)
				if i == 0 || m.starts[i] != key {
					require.ErrorIs(t, err, ErrNoSplit, "merge %q", key)
				} else {
					require.NoError(t, err, "merge %q", key)
					m.starts = slices.Delete(m.starts, i, i+1)
					m.owners = slices.Delete(m.owners, i, i+1)
				}
			case 2:
				node := "s" + key
				err = r.Assign(key, node)
				i := m.find(key)
				if m.starts[i] != key {
					require.ErrorIs(t, err, ErrNoSplit, "assign %q", key)
				} else {
					require.NoError(t, err, "assign %q", key)
					m.owners[i] = node
				}
			}
			if err != nil {
				require.Same(t, before, r.snap.Load(), "a refused operation changes nothing")
				continue
			}
			got := slices.Collect(r.All())
			require.Len(t, got, len(m.starts), "range count after op %d on %q", op, key)
			for i, rg := range got {
				end := ""
				if i+1 < len(m.starts) {
					end = m.starts[i+1]
				}
				require.Equal(t, Range{Start: m.starts[i], End: end, Node: m.owners[i]}, rg, "range %d", i)
				require.Equal(t, m.owners[i], r.Locate(rg.Start), "owner of range start %q", rg.Start)
				require.Equal(t, m.owners[i], r.LocateBytes([]byte(rg.Start+"\x00")), "owner just after %q", rg.Start)
			}
			// The plan moves exactly the keys whose owner changed: check at
			// every boundary of either partition.
			plan := DiffRanges(prev, r)
			for _, rg := range slices.Concat(slices.Collect(prev.All()), got) {
				for _, k := range []string{rg.Start, rg.Start + "\x00", rg.End} {
					from, to := prev.Locate(k), r.Locate(k)
					idx := slices.IndexFunc(plan, func(mv RangeMove) bool {
						return mv.Start <= k && (mv.End == "" || k < mv.End)
					})
					if from == to {
						require.Equal(t, -1, idx, "key %q keeps node %q, so no move covers it", k, from)
					} else {
						require.NotEqual(t, -1, idx, "key %q moves %q -> %q", k, from, to)
						require.Equal(t, RangeMove{Start: plan[idx].Start, End: plan[idx].End, From: from, To: to}, plan[idx], "move covering %q", k)
					}
				}
			}
		}
	})
}
