package lb_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

func TestUpdateRejectsBadEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ep     lb.Endpoint
		reason string
	}{
		{"empty address", lb.Endpoint{}, "empty address"},
		{"overlong address", lb.Endpoint{Addr: strings.Repeat("a", lb.MaxAddrLen+1)}, "longer than"},
		{"space in address", lb.Endpoint{Addr: "a b:80"}, "space or control"},
		{"control character", lb.Endpoint{Addr: "a\n:80"}, "space or control"},
		{"negative weight", lb.Endpoint{Addr: "a:80", Weight: -1}, "negative weight"},
		{"weight too large", lb.Endpoint{Addr: "a:80", Weight: lb.MaxWeight + 1}, "weight above"},
		{"overlong zone", lb.Endpoint{Addr: "a:80", Zone: strings.Repeat("z", lb.MaxZoneLen+1)}, "zone"},
		{"too much metadata", lb.Endpoint{Addr: "a:80", Meta: bigMeta(lb.MaxMetaEntries + 1)}, "metadata entries"},
		{"overlong metadata", lb.Endpoint{Addr: "a:80", Meta: map[string]string{"k": strings.Repeat("v", lb.MaxMetaLen+1)}}, "metadata key or value"},
		{"unknown scheme", lb.Endpoint{Addr: "ftp://a:21"}, "optionally after http:// or https://"},
		{"URL with a path", lb.Endpoint{Addr: "http://a:80/x"}, "host[:port]"},
		{"URL without a host", lb.Endpoint{Addr: "http://"}, "host[:port]"},
		{"user info", lb.Endpoint{Addr: "u@a:80"}, "host[:port]"},
		{"bad escape", lb.Endpoint{Addr: "%"}, "host[:port]"},
		{"duplicate", lb.Endpoint{Addr: "ok:80"}, "duplicate of endpoint 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBalancer(t, lb.Config{}, equal(2))
			before := b.Stats()
			err := b.Update([]lb.Endpoint{{Addr: "ok:80"}, tc.ep})
			require.ErrorIs(t, err, lb.ErrInvalidEndpoint, "Update rejects the set")
			var ee *lb.EndpointError
			require.ErrorAs(t, err, &ee, "the error is an *EndpointError")
			assert.Equal(t, 1, ee.Index, "it points at the bad endpoint")
			assert.Contains(t, ee.Reason, tc.reason, "it says what is wrong")
			assert.LessOrEqual(t, len(ee.Addr), lb.MaxAddrLen, "it quotes a bounded address")
			assert.Equal(t, before, b.Stats(), "a rejected Update changes nothing")
		})
	}
}

func TestUpdateAcceptsAddressForms(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:8080", "[::1]:8080", "[fe80::1%25eth0]:80", "orders.internal", "http://a:1", "https://b.example"} {
		b := lb.New(lb.Config{})
		require.NoError(t, b.Update([]lb.Endpoint{{Addr: addr}}), "%s is a valid address", addr)
	}
}

func bigMeta(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprint(i)] = "v"
	}
	return m
}

func TestUpdateLimits(t *testing.T) {
	b := lb.New(lb.Config{MaxEndpoints: 3})
	require.ErrorIs(t, b.Update(equal(4)), lb.ErrTooManyEndpoints, "more than MaxEndpoints")
	require.NoError(t, b.Update(equal(3)), "MaxEndpoints exactly")
	require.NoError(t, b.Update(nil), "an empty set is allowed")
	_, err := b.Pick()
	require.ErrorIs(t, err, lb.ErrNoEndpoints, "and picks then fail")
}

func TestUpdateCopiesEndpoints(t *testing.T) {
	meta := map[string]string{"version": "1"}
	eps := []lb.Endpoint{{Addr: "a:80", Zone: "eu-1", Meta: meta}}
	b := newBalancer(t, lb.Config{}, eps)
	meta["version"] = "2"
	eps[0].Zone = "us-1"
	p, err := b.Pick()
	require.NoError(t, err, "Pick")
	assert.Equal(t, lb.Endpoint{Addr: "a:80", Zone: "eu-1", Meta: map[string]string{"version": "1"}}, p.Endpoint(),
		"the balancer keeps its own copy of what Update got")

	require.NoError(t, b.Update([]lb.Endpoint{{Addr: "a:80", Zone: "eu-2", Weight: 3}}), "Update in place")
	p, _ = b.Pick()
	assert.Equal(t, "eu-2", p.Endpoint().Zone, "an Update that keeps the address refreshes the data")
	assert.Equal(t, 3, stat(t, b, "a:80").Weight, "and the weight")
}

func TestRoundRobinIgnoresWeights(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.RoundRobin}, weighted(1, 5, 10))
	for _, n := range countPicks(t, b, 300, nil) {
		assert.Equal(t, 100, n, "every endpoint gets an equal turn")
	}
	// Consecutive picks walk the endpoints in order.
	first, _ := b.Pick()
	first.Done(nil)
	i := indexOf(addrs(3), first.Addr())
	for k := 1; k <= 6; k++ {
		p, _ := b.Pick()
		assert.Equal(t, addrs(3)[(i+k)%3], p.Addr(), "round robin order")
		p.Done(nil)
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func TestWeightedRoundRobinFollowsWeightsExactly(t *testing.T) {
	b := newBalancer(t, lb.Config{}, weighted(5, 1, 1))
	assert.Equal(t, 7, b.Stats().ScheduleLen, "one cycle has a slot per unit of weight")
	counts := countPicks(t, b, 700, nil)
	assert.Equal(t, map[string]int{addrs(3)[0]: 500, addrs(3)[1]: 100, addrs(3)[2]: 100}, counts,
		"every cycle gives each endpoint exactly its weight")
}

func TestStartingOffsetIsRandom(t *testing.T) {
	starts := map[string]bool{}
	for range 50 {
		b := newBalancer(t, lb.Config{}, weighted(5, 1, 1, 1, 1))
		p, _ := b.Pick()
		starts[p.Addr()] = true
	}
	assert.Greater(t, len(starts), 1, "balancers do not all start with the heaviest endpoint")
}

func TestUpdateWithSameSetKeepsPosition(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.RoundRobin}, equal(5))
	p, _ := b.Pick()
	require.NoError(t, b.Update(equal(5)), "same set again")
	_ = b.Stats()
	q, _ := b.Pick()
	assert.Equal(t, addrs(5)[(indexOf(addrs(5), p.Addr())+1)%5], q.Addr(),
		"an Update or Stats that changes nothing keeps the rotation going")
}

func TestUpdateDuringParallelPicks(t *testing.T) {
	for _, policy := range []lb.Policy{lb.WeightedRoundRobin, lb.RoundRobin, lb.LeastLoaded, lb.PeakEWMA, lb.ConsistentHash} {
		t.Run(policy.String(), func(t *testing.T) {
			b := newBalancer(t, lb.Config{Policy: policy, Ejection: lb.Ejection{ConsecutiveFailures: 2}}, weighted(1, 2, 3))
			sets := [][]lb.Endpoint{weighted(1, 2, 3), weighted(3, 1), weighted(1, 1, 1, 1, 9), nil}
			var stop atomic.Bool
			var wg sync.WaitGroup
			var picks atomic.Int64
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						p, err := b.PickKey(fmt.Sprint(i))
						if err != nil {
							require.ErrorIs(t, err, lb.ErrNoEndpoints, "the only error is an empty set")
							continue
						}
						require.NotEmpty(t, p.Addr(), "a pick names an endpoint")
						picks.Add(1)
						if (i+w)%3 == 0 {
							p.Done(errBoom)
						} else {
							p.Done(nil)
						}
					}
				}()
			}
			for i := 0; i < 200 || picks.Load() < 2000; i++ {
				require.Less(t, i, 1_000_000, "pickers make progress")
				require.NoError(t, b.Update(sets[i%len(sets)]), "Update")
				_ = b.Stats()
			}
			stop.Store(true)
			wg.Wait()
			assert.Positive(t, picks.Load(), "picks ran alongside the Updates")
			require.NoError(t, b.Update(weighted(1, 2, 3)), "final Update")
			for _, e := range b.Stats().PerEndpoint {
				assert.GreaterOrEqual(t, e.InFlight, int64(0), "in-flight counts never go negative")
			}
		})
	}
}
