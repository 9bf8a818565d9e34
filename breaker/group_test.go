package breaker_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/breaker"
)

func TestGroupCreatesLazilyAndIsBounded(t *testing.T) {
	var rec recorder
	g := breaker.NewGroup(breaker.GroupConfig{
		Breaker:     breaker.Config{Name: "ignored", ConsecutiveFailures: 1, OnStateChange: rec.hook},
		MaxBreakers: 2,
	})
	assert.Zero(t, g.Len(), "nothing is created up front")
	a, err := g.Get("a")
	require.NoError(t, err)
	assert.Equal(t, "a", a.Name(), "the key names the breaker")
	again, err := g.Get("a")
	require.NoError(t, err)
	assert.Same(t, a, again, "one breaker per name")
	_, err = g.Get("b")
	require.NoError(t, err)

	c, err := g.Get("c")
	require.ErrorIs(t, err, breaker.ErrGroupFull, "the bound is enforced")
	assert.Nil(t, c)
	assert.Contains(t, err.Error(), `"c"`, "the error names the key")
	assert.Equal(t, 2, g.Len())
	assert.Equal(t, breaker.GroupStats{Breakers: 2, Refused: 1}, g.Stats(), "Stats counts refusals")

	_ = call(a, errBoom)
	assert.Equal(t, breaker.StateOpen, a.State(), "breakers use the group's config")
	b, _ := g.Get("b")
	assert.Equal(t, breaker.StateClosed, b.State(), "and trip independently")

	assert.True(t, g.Remove("a"), "Remove drops an existing breaker")
	assert.False(t, g.Remove("a"), "and reports a missing one")
	c, err = g.Get("c")
	require.NoError(t, err, "Remove made room")
	assert.Equal(t, breaker.StateClosed, c.State())

	names := map[string]bool{}
	for name, br := range g.All() {
		names[name] = true
		assert.Equal(t, name, br.Name())
	}
	assert.Equal(t, map[string]bool{"b": true, "c": true}, names)
	for range g.All() {
		break // stopping early is allowed
	}
	assert.Equal(t, []string{"closed>open"}, rec.transitions(), "callbacks receive the key as name")
}

func TestGroupConcurrentGetCreatesOnce(t *testing.T) {
	g := breaker.NewGroup(breaker.GroupConfig{MaxBreakers: 10})
	var wg sync.WaitGroup
	got := make([][]*breaker.Breaker, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				b, err := g.Get(fmt.Sprint(i % 12))
				if i%12 < 10 && err == nil {
					got[w] = append(got[w], b)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 10, g.Len(), "never more than MaxBreakers")
	seen := map[string]*breaker.Breaker{}
	for _, bs := range got {
		for _, b := range bs {
			if prev, ok := seen[b.Name()]; ok {
				assert.Same(t, prev, b, "every goroutine got the same breaker for %q", b.Name())
			}
			seen[b.Name()] = b
		}
	}
}

func TestGroupConfigValidate(t *testing.T) {
	require.ErrorContains(t, breaker.GroupConfig{MaxBreakers: -1}.Validate(), "MaxBreakers")
	require.ErrorContains(t, breaker.GroupConfig{Breaker: breaker.Config{FailureRate: 200}}.Validate(), "FailureRate")
	assert.Panics(t, func() { breaker.NewGroup(breaker.GroupConfig{MaxBreakers: -1}) })
	g := breaker.NewGroup(breaker.GroupConfig{})
	for i := range breaker.DefaultMaxBreakers {
		_, err := g.Get(fmt.Sprint(i))
		require.NoError(t, err)
	}
	_, err := g.Get("one more")
	assert.ErrorIs(t, err, breaker.ErrGroupFull, "the default bound is DefaultMaxBreakers")
}
