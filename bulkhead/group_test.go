package bulkhead_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/bulkhead"
)

func TestGroup(t *testing.T) {
	g := bulkhead.NewGroup(bulkhead.GroupConfig{
		Default:       bulkhead.Config{MaxConcurrent: 1},
		Partitions:    map[string]bulkhead.Config{"payments": {MaxConcurrent: 3}},
		MaxPartitions: 3,
	})
	payments, err := g.Get("payments")
	require.NoError(t, err)
	assert.Equal(t, 3, payments.Stats().Limit, "a configured partition has its own limit")

	a, err := g.Get("tenant-a")
	require.NoError(t, err)
	assert.Equal(t, 1, a.Stats().Limit, "new partitions take the default config")
	again, err := g.Get("tenant-a")
	require.NoError(t, err)
	assert.Same(t, a, again, "a name always maps to the same bulkhead")

	p, err := a.Acquire(context.Background())
	require.NoError(t, err)
	_, err = a.Acquire(context.Background())
	assert.ErrorIs(t, err, bulkhead.ErrQueueFull, "tenant-a is full")
	b, err := g.Get("tenant-b")
	require.NoError(t, err)
	q, err := b.Acquire(context.Background())
	assert.NoError(t, err, "a full partition does not affect another")
	q.Release()

	_, err = g.Get("tenant-c")
	assert.ErrorIs(t, err, bulkhead.ErrTooManyPartitions, "names beyond MaxPartitions are refused")

	stats := g.Stats()
	assert.Len(t, stats, 3)
	assert.Equal(t, 1, stats["tenant-a"].InFlight)
	assert.Equal(t, uint64(1), stats["tenant-a"].Rejected)
	p.Release()
}

func TestGroupValidate(t *testing.T) {
	for _, cfg := range []bulkhead.GroupConfig{
		{MaxPartitions: -1},
		{Default: bulkhead.Config{MaxQueued: -1}},
		{Partitions: map[string]bulkhead.Config{"x": {MaxConcurrent: -1}}},
		{Partitions: map[string]bulkhead.Config{"x": {}, "y": {}}, MaxPartitions: 1},
	} {
		err := cfg.Validate()
		require.Error(t, err, "%+v is invalid", cfg)
		assert.PanicsWithValue(t, err.Error(), func() { bulkhead.NewGroup(cfg) })
	}
}

func TestGroupConcurrentGet(t *testing.T) {
	g := bulkhead.NewGroup(bulkhead.GroupConfig{MaxPartitions: 10})
	var wg sync.WaitGroup
	got := make([][]*bulkhead.Bulkhead, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 {
				b, err := g.Get(fmt.Sprint("p", n))
				if err == nil {
					got[i] = append(got[i], b)
				}
			}
		}()
	}
	wg.Wait()
	assert.Len(t, g.Stats(), 10, "exactly MaxPartitions partitions were created")
	for i := range got {
		require.Len(t, got[i], 10)
		for n := range got[i] {
			assert.Same(t, got[0][n], got[i][n], "every goroutine sees the same bulkhead per name")
		}
	}
}
