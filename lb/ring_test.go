package lb_test

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("key-%d", i)
	}
	return out
}

func owners(t *testing.T, b *lb.Balancer, ks []string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(ks))
	for _, k := range ks {
		p, err := b.PickKey(k)
		require.NoError(t, err, "PickKey")
		out[k] = p.Addr()
		p.Done(nil)
	}
	return out
}

func TestConsistentHashBalancesAndFollowsWeights(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.ConsistentHash}, weighted(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2))
	load := map[string]int{}
	for _, owner := range owners(t, b, keys(100_000)) {
		load[owner]++
	}
	light := addrs(11)[:10]
	for _, a := range light {
		assert.InDelta(t, 100_000/12, load[a], 0.25*100_000/12, "a weight-1 endpoint holds about 1/12 of the keys")
	}
	assert.InDelta(t, 2*100_000/12, load[addrs(11)[10]], 0.25*2*100_000/12, "the weight-2 endpoint about twice that")
}

func TestConsistentHashMovesOnlyTheLostKeys(t *testing.T) {
	ks := keys(20_000)
	b := newBalancer(t, lb.Config{Policy: lb.ConsistentHash}, equal(10))
	before := owners(t, b, ks)
	require.NoError(t, b.Update(equal(11)), "add an endpoint")
	after := owners(t, b, ks)
	moved := 0
	for _, k := range ks {
		if before[k] != after[k] {
			moved++
			assert.Equal(t, addrs(11)[10], after[k], "keys only move to the new endpoint")
		}
	}
	assert.InDelta(t, len(ks)/11, moved, 0.3*float64(len(ks))/11, "about 1/11 of the keys move")

	// The ring does not depend on the order endpoints are listed in.
	eps := equal(11)
	slices.Reverse(eps)
	require.NoError(t, b.Update(eps), "same set, reversed")
	assert.Equal(t, after, owners(t, b, ks), "listing order does not change the mapping")
}

func TestConsistentHashSkipsEjectedEndpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ks := keys(5_000)
		cfg := lb.Config{Policy: lb.ConsistentHash, Ejection: lb.Ejection{ConsecutiveFailures: 1, MaxPercent: 20}}
		b := newBalancer(t, cfg, equal(5))
		before := owners(t, b, ks)
		bad := addrs(5)[2]
		for _, k := range ks {
			if before[k] == bad {
				p, _ := b.PickKey(k)
				p.Done(errBoom)
				break
			}
		}
		require.True(t, stat(t, b, bad).Ejected, "one failure ejects")
		during := owners(t, b, ks)
		for _, k := range ks {
			if before[k] == bad {
				assert.NotEqual(t, bad, during[k], "keys of the ejected endpoint go elsewhere")
			} else {
				assert.Equal(t, before[k], during[k], "other keys stay put")
			}
		}
		time.Sleep(30 * time.Second) // the default BaseTime
		synctest.Wait()
		assert.Equal(t, before, owners(t, b, ks), "keys come back after the ejection")
	})
}

func TestConsistentHashNeedsAKey(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.ConsistentHash}, equal(3))
	_, err := b.Pick()
	require.ErrorIs(t, err, lb.ErrKeyRequired, "Pick without a key")
	empty := lb.New(lb.Config{Policy: lb.ConsistentHash})
	_, err = empty.PickKey("k")
	require.ErrorIs(t, err, lb.ErrNoEndpoints, "PickKey with no endpoints")
	rr := newBalancer(t, lb.Config{}, equal(3))
	p, err := rr.PickKey("k")
	require.NoError(t, err, "other policies accept PickKey and ignore the key")
	assert.NotEmpty(t, p.Addr(), "and pick normally")
}
