package vclock

import (
	"errors"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b map[Actor]uint64
		want Order
	}{
		{"both empty", nil, nil, Equal},
		{"explicit zeros equal empty", map[Actor]uint64{1: 0, 2: 0}, nil, Equal},
		{"same entries", map[Actor]uint64{1: 2, 5: 1}, map[Actor]uint64{1: 2, 5: 1}, Equal},
		{"empty before any event", nil, map[Actor]uint64{3: 1}, Before},
		{"lower counter", map[Actor]uint64{1: 1, 2: 2}, map[Actor]uint64{1: 2, 2: 2}, Before},
		{"missing actor on left", map[Actor]uint64{2: 2}, map[Actor]uint64{1: 1, 2: 2}, Before},
		{"explicit zero on left is missing", map[Actor]uint64{1: 0, 2: 2}, map[Actor]uint64{1: 1, 2: 2}, Before},
		{"explicit zero on right is missing", map[Actor]uint64{1: 1, 2: 2}, map[Actor]uint64{1: 1, 2: 2, 3: 0}, Equal},
		{"explicit zero beside a lower counter", map[Actor]uint64{1: 2, 2: 2}, map[Actor]uint64{1: 1, 2: 2, 3: 0}, After},
		{"higher counter", map[Actor]uint64{1: 3}, map[Actor]uint64{1: 2}, After},
		{"disjoint actors", map[Actor]uint64{1: 1}, map[Actor]uint64{2: 1}, Concurrent},
		{"crossing counters", map[Actor]uint64{1: 2, 2: 1}, map[Actor]uint64{1: 1, 2: 2}, Concurrent},
		{"left extra actor right higher", map[Actor]uint64{1: 1, 9: 1}, map[Actor]uint64{1: 2}, Concurrent},
		{"concurrent found at the tail", map[Actor]uint64{1: 1, 2: 1, 3: 1}, map[Actor]uint64{1: 2, 2: 1}, Concurrent},
		{"max counters", map[Actor]uint64{MaxActor: MaxCounter}, map[Actor]uint64{MaxActor: MaxCounter - 1}, After},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := FromMap(tt.a), FromMap(tt.b)
			assert.Equal(t, tt.want, a.Compare(b), "Compare(%v, %v)", a, b)
			assert.Equal(t, tt.want == Equal || tt.want == After, a.Descends(b), "Descends(%v, %v) must hold exactly for After or Equal", a, b)
			assert.Equal(t, tt.want == Equal, a.Equal(b), "Equal(%v, %v)", a, b)
			assert.Equal(t, reverse(tt.want), b.Compare(a), "Compare(%v, %v) must be the reverse", b, a)
		})
	}
}

func reverse(o Order) Order {
	switch o {
	case Before:
		return After
	case After:
		return Before
	}
	return o
}

func TestOrderString(t *testing.T) {
	for o, want := range map[Order]string{Equal: "equal", Before: "before", After: "after", Concurrent: "concurrent", Order(9): "Order(9)"} {
		assert.Equal(t, want, o.String(), "String of Order %d", int(o))
	}
}

func TestFromEntries(t *testing.T) {
	c, err := FromEntries([]Entry{{Actor: 7, Counter: 1}, {Actor: 2, Counter: 0}, {Actor: 1, Counter: 4}})
	require.NoError(t, err, "unsorted entries with a zero are valid input")
	assert.Equal(t, "{1:4,7:1}", c.String(), "entries must be sorted and the zero dropped")

	_, err = FromEntries([]Entry{{Actor: 3, Counter: 1}, {Actor: 3, Counter: 2}})
	require.ErrorIs(t, err, ErrDuplicateActor, "a repeated actor is ambiguous")
	var ae *ActorError
	require.ErrorAs(t, err, &ae, "the error names the actor")
	assert.Equal(t, Actor(3), ae.Actor, "the duplicated actor")

	c, err = FromEntries([]Entry{{Actor: 3, Counter: 0}, {Actor: 3, Counter: 2}})
	require.NoError(t, err, "a zero entry is the same as none, so it cannot duplicate anything")
	assert.Equal(t, uint64(2), c.Get(3), "the non-zero counter is kept")

	c, err = FromEntries(nil)
	require.NoError(t, err, "no entries is the empty clock")
	assert.True(t, c.IsZero(), "empty input gives the zero clock")
}

func TestZeroValueClock(t *testing.T) {
	var c Clock
	assert.True(t, c.IsZero(), "the zero Clock is empty")
	assert.Equal(t, 0, c.Len(), "no entries")
	assert.Equal(t, uint64(0), c.Get(42), "every actor reads zero")
	assert.Equal(t, "{}", c.String(), "text form of the empty clock")
	next, err := c.Tick(42)
	require.NoError(t, err, "ticking the zero Clock works")
	assert.Equal(t, "{42:1}", next.String(), "first event of actor 42")
	assert.True(t, c.IsZero(), "Tick must not change the receiver")
}

func TestTick(t *testing.T) {
	c := FromMap(map[Actor]uint64{2: 5, 9: 1})
	for _, tt := range []struct {
		actor Actor
		want  string
	}{
		{1, "{1:1,2:5,9:1}"},
		{2, "{2:6,9:1}"},
		{5, "{2:5,5:1,9:1}"},
		{9, "{2:5,9:2}"},
		{10, "{2:5,9:1,10:1}"},
	} {
		got, err := c.Tick(tt.actor)
		require.NoError(t, err, "tick actor %d", tt.actor)
		assert.Equal(t, tt.want, got.String(), "tick actor %d", tt.actor)
		assert.Equal(t, After, got.Compare(c), "a tick is after the clock it came from")
	}
	assert.Equal(t, "{2:5,9:1}", c.String(), "ticks must not change the receiver")
}

func TestTickOverflow(t *testing.T) {
	c := FromMap(map[Actor]uint64{1: MaxCounter, 2: 3})
	got, err := c.Tick(1)
	require.ErrorIs(t, err, ErrCounterOverflow, "a counter at its maximum must not wrap")
	var ae *ActorError
	require.ErrorAs(t, err, &ae, "the error names the actor")
	assert.Equal(t, Actor(1), ae.Actor, "actor at its maximum")
	assert.True(t, got.Equal(c), "on overflow the clock is returned unchanged")
	assert.Contains(t, err.Error(), "actor 1", "the message names the actor")

	got, err = FromMap(map[Actor]uint64{1: MaxCounter - 1}).Tick(1)
	require.NoError(t, err, "reaching MaxCounter is allowed")
	assert.Equal(t, MaxCounter, got.Get(1), "counter reaches MaxCounter")
}

func TestMerge(t *testing.T) {
	a := FromMap(map[Actor]uint64{1: 3, 2: 1, 4: 2})
	b := FromMap(map[Actor]uint64{2: 4, 3: 1, 4: 2, 8: 0})
	want := "{1:3,2:4,3:1,4:2}"
	assert.Equal(t, want, a.Merge(b).String(), "pointwise maximum")
	assert.Equal(t, want, b.Merge(a).String(), "pointwise maximum, other order")
	assert.Equal(t, "{1:3,2:1,4:2}", a.String(), "Merge must not change the receiver")
	assert.Equal(t, "{2:4,3:1,4:2}", b.String(), "Merge must not change the argument")

	var empty Clock
	assert.True(t, empty.Merge(a).Equal(a), "empty is the identity")
	assert.True(t, a.Merge(empty).Equal(a), "empty is the identity")
}

func TestMergeOfOrderedClocksDoesNotAllocate(t *testing.T) {
	a := FromMap(map[Actor]uint64{1: 1, 2: 2})
	b := FromMap(map[Actor]uint64{1: 2, 2: 2, 3: 1})
	allocs := testing.AllocsPerRun(100, func() {
		_ = a.Merge(b)
		_ = b.Merge(a)
		_ = a.Merge(a)
	})
	assert.Zero(t, allocs, "merging clocks where one descends the other returns it")
}

func TestMergeIntoAndTickIntoReuseBuffer(t *testing.T) {
	a := FromMap(map[Actor]uint64{1: 3, 3: 1})
	b := FromMap(map[Actor]uint64{2: 2, 3: 4})
	buf := make([]Entry, 0, 8)
	var merged Clock
	allocs := testing.AllocsPerRun(100, func() {
		merged = a.MergeInto(buf, b)
	})
	assert.Zero(t, allocs, "MergeInto with room in buf must not allocate")
	assert.Equal(t, "{1:3,2:2,3:4}", merged.String(), "merged result")
	assert.True(t, merged.Equal(a.Merge(b)), "MergeInto agrees with Merge")

	buf2 := make([]Entry, 0, 8)
	var ticked Clock
	allocs = testing.AllocsPerRun(100, func() {
		var err error
		ticked, err = merged.TickInto(buf2, 2)
		if err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "TickInto with room in buf must not allocate")
	assert.Equal(t, "{1:3,2:3,3:4}", ticked.String(), "ticked result")

	small := make([]Entry, 0, 1)
	assert.Equal(t, "{1:3,2:2,3:4}", a.MergeInto(small, b).String(), "a short buffer grows instead of failing")
}

func TestIntoPanicsOnOverlap(t *testing.T) {
	a := FromMap(map[Actor]uint64{1: 3, 3: 1})
	b := FromMap(map[Actor]uint64{2: 2, 3: 4})
	buf := make([]Entry, 0, 8)
	merged := a.MergeInto(buf, b)
	assert.PanicsWithValue(t, "vclock: Into buffer shares storage with an operand clock", func() {
		merged.MergeInto(buf, a)
	}, "reusing the buffer that holds the receiver would corrupt it")
	assert.Panics(t, func() { a.MergeInto(buf, merged) }, "buffer holding the argument")
	assert.Panics(t, func() { _, _ = merged.TickInto(buf[2:], 1) }, "a sub-slice of the storage overlaps too")
	assert.NotPanics(t, func() { a.MergeInto(make([]Entry, 0, 4), merged) }, "a separate buffer is fine")
}

func TestCopiesShareNothingMutable(t *testing.T) {
	original := FromMap(map[Actor]uint64{1: 1, 2: 2})
	copied := original
	entries := copied.AppendEntries(nil)
	entries[0].Counter = 99 // the exported slice is the caller's own
	next, err := copied.Tick(1)
	require.NoError(t, err, "tick")
	_ = next.Merge(FromMap(map[Actor]uint64{3: 1}))
	assert.Equal(t, "{1:1,2:2}", original.String(), "no operation on a copy changes the original")
	assert.Equal(t, "{1:1,2:2}", copied.String(), "no operation changes the receiver")
}

func TestAllAndEntries(t *testing.T) {
	m := map[Actor]uint64{4: 1, 1: 2, 9: 3, 5: 0}
	c := FromMap(m)
	got := maps.Collect(c.All())
	delete(m, 5)
	assert.Equal(t, m, got, "All yields the non-zero entries")
	var order []Actor
	for a := range c.All() {
		order = append(order, a)
		if a == 4 {
			break
		}
	}
	assert.Equal(t, []Actor{1, 4}, order, "All yields in ascending order and stops when asked")
	assert.Equal(t, []Entry{{1, 2}, {4, 1}, {9, 3}}, c.AppendEntries(nil), "AppendEntries in actor order")
}

func TestErrorMessages(t *testing.T) {
	err := error(&DecodeError{What: "clock", Offset: 3, Reason: "overlong varint", Err: ErrMalformed})
	assert.Equal(t, "vclock: malformed encoding: clock at byte 3: overlong varint", err.Error(), "DecodeError text")
	assert.True(t, errors.Is(err, ErrMalformed), "DecodeError unwraps to its cause")
}
