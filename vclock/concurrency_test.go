package vclock

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedValuesAcrossGoroutines uses one Clock and one DVVSet from many
// goroutines at once without locks. Under -race this proves that no
// operation writes to storage a shared value can see.
func TestSharedValuesAcrossGoroutines(t *testing.T) {
	base := FromMap(map[Actor]uint64{1: 3, 2: 5, 4: 1})
	other := FromMap(map[Actor]uint64{2: 7, 3: 1})
	var set DVVSet[int]
	set, _, err := set.Put(1, Clock{}, 10)
	require.NoError(t, err, "seed the set")
	set, _, err = set.Put(2, Clock{}, 20)
	require.NoError(t, err, "seed the set")

	const goroutines = 8
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			buf := make([]Entry, 0, 8)
			for i := range 200 {
				ticked, err := base.Tick(Actor(g))
				if err != nil {
					t.Error(err)
					return
				}
				merged := ticked.Merge(other)
				into := base.MergeInto(buf, other)
				if merged.Compare(base) != After || !into.Descends(other) {
					t.Errorf("goroutine %d: unexpected order", g)
					return
				}
				if _, err := base.AppendBinary(nil); err != nil {
					t.Error(err)
					return
				}
				next, _, err := set.Put(Actor(g%3), set.Context(), g*1000+i)
				if err != nil {
					t.Error(err)
					return
				}
				if synced := next.Sync(set); synced.Len() != 1 {
					t.Errorf("goroutine %d: a write that read every sibling leaves one value, got %d", g, synced.Len())
					return
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, "{1:3,2:5,4:1}", base.String(), "the shared clock is unchanged")
	assert.Equal(t, []int{10, 20}, set.Values(), "the shared set is unchanged")
}
