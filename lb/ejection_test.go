package lb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

func ejectionConfig() lb.Config {
	return lb.Config{Ejection: lb.Ejection{
		ConsecutiveFailures: 3,
		BaseTime:            10 * time.Second,
		MaxTime:             25 * time.Second,
		MaxPercent:          50,
	}}
}

func TestEjectionAfterConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var ejected []string
		var durations []time.Duration
		var returned []string
		cfg := ejectionConfig()
		var b *lb.Balancer
		cfg.OnEject = func(ep lb.Endpoint, d time.Duration) {
			_ = b.Stats() // hooks run outside the lock: this would deadlock otherwise
			mu.Lock()
			defer mu.Unlock()
			ejected = append(ejected, ep.Addr)
			durations = append(durations, d)
		}
		cfg.OnReturn = func(ep lb.Endpoint) {
			_ = b.Stats()
			mu.Lock()
			defer mu.Unlock()
			returned = append(returned, ep.Addr)
		}
		b = newBalancer(t, cfg, equal(4))
		bad := addrs(4)[1]

		fail(t, b, bad, 2)
		assert.False(t, stat(t, b, bad).Ejected, "two failures stay below the threshold of three")
		assert.Equal(t, 2, stat(t, b, bad).ConsecutiveFailures, "failures are counted")
		fail(t, b, bad, 1)
		require.True(t, stat(t, b, bad).Ejected, "the third consecutive failure ejects")
		assert.Equal(t, []time.Duration{10 * time.Second}, durations, "the first ejection lasts BaseTime")
		assert.Equal(t, 0, countPicks(t, b, 400, nil)[bad], "an ejected endpoint is not picked")
		assert.Equal(t, 3, b.Stats().Available, "three endpoints remain in rotation")

		time.Sleep(10*time.Second - time.Millisecond)
		assert.True(t, stat(t, b, bad).Ejected, "still out just before BaseTime passes")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		mu.Lock()
		assert.Equal(t, []string{bad}, returned, "OnReturn reports the return")
		mu.Unlock()
		assert.False(t, stat(t, b, bad).Ejected, "back after BaseTime")
		assert.Equal(t, 100, countPicks(t, b, 400, nil)[bad], "a returned endpoint gets its share again")

		// Ejected again soon: twice as long, then capped at MaxTime.
		fail(t, b, bad, 3)
		time.Sleep(20 * time.Second)
		fail(t, b, bad, 3)
		time.Sleep(25 * time.Second)
		mu.Lock()
		assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 25 * time.Second}, durations,
			"ejections grow by BaseTime and stop at MaxTime")
		mu.Unlock()
	})
}

func TestEjectionForgivesOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := ejectionConfig()
		var last time.Duration
		cfg.OnEject = func(_ lb.Endpoint, d time.Duration) { last = d }
		b := newBalancer(t, cfg, equal(4))
		bad := addrs(4)[0]
		fail(t, b, bad, 3)
		time.Sleep(10 * time.Second)
		fail(t, b, bad, 3)
		require.Equal(t, 20*time.Second, last, "second ejection in a row lasts twice BaseTime")
		assert.Equal(t, 2, stat(t, b, bad).Ejections, "two ejections on record")
		time.Sleep(20 * time.Second)
		time.Sleep(10 * time.Second)
		assert.Equal(t, 1, stat(t, b, bad).Ejections, "one BaseTime back in rotation forgives one ejection")
		time.Sleep(10 * time.Second)
		assert.Equal(t, 0, stat(t, b, bad).Ejections, "two forgive both")
		fail(t, b, bad, 3)
		assert.Equal(t, 10*time.Second, last, "after a healthy spell the next ejection is short again")
	})
}

func TestEjectionCountsOnlyConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBalancer(t, ejectionConfig(), equal(2))
		target := addrs(2)[0]
		fail(t, b, target, 2)
		p := pickAddr(t, b, target)
		p.Done(context.Canceled)
		assert.Equal(t, 2, stat(t, b, target).ConsecutiveFailures, "a caller's cancellation is neutral")
		p = pickAddr(t, b, target)
		p.Done(nil)
		assert.Equal(t, 0, stat(t, b, target).ConsecutiveFailures, "a success resets the count")
		fail(t, b, target, 2)
		assert.False(t, stat(t, b, target).Ejected, "failures separated by a success never reach three in a row")

		only := newBalancer(t, ejectionConfig(), equal(1))
		countPicks(t, only, 10, errBoom)
		assert.False(t, stat(t, only, addrs(1)[0]).Ejected, "the only endpoint is never ejected")
	})
}

func TestEjectionUsesIsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := ejectionConfig()
		cfg.IsFailure = func(err error) bool { return err != errBoom }
		b := newBalancer(t, cfg, equal(2))
		target := addrs(2)[0]
		fail(t, b, target, 5)
		assert.Zero(t, stat(t, b, target).ConsecutiveFailures, "errors IsFailure rejects do not count")
		for range 3 {
			pickAddr(t, b, target).Done(context.DeadlineExceeded)
		}
		assert.True(t, stat(t, b, target).Ejected, "errors IsFailure accepts eject")
	})
}

// pickAddr picks until addr comes up, completing the other picks successfully.
func pickAddr(t *testing.T, b *lb.Balancer, addr string) lb.Pick {
	t.Helper()
	for range 100_000 {
		p, err := b.Pick()
		require.NoError(t, err, "Pick")
		if p.Addr() == addr {
			return p
		}
		p.Done(nil)
	}
	require.Failf(t, "never picked", "%s", addr)
	return lb.Pick{}
}

func TestEjectionCappedByMaxPercent(t *testing.T) {
	for _, tc := range []struct {
		endpoints, percent, want int
	}{
		{10, 10, 1}, {10, 30, 3}, {10, 100, 9}, {2, 10, 1}, {3, 50, 1}, {1, 100, 0},
	} {
		t.Run(fmt.Sprintf("%d endpoints at %d%%", tc.endpoints, tc.percent), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := lb.Config{Ejection: lb.Ejection{ConsecutiveFailures: 1, MaxPercent: tc.percent}}
				b := newBalancer(t, cfg, equal(tc.endpoints))
				for i := range 3000 {
					p, err := b.Pick()
					require.NoError(t, err, "Pick always finds an endpoint")
					p.Done(fmt.Errorf("failure %d", i))
				}
				st := b.Stats()
				assert.Equal(t, tc.want, st.Ejected, "ejections stop at the cap")
				assert.Equal(t, tc.endpoints-tc.want, st.Available, "the rest stays in rotation")
			})
		})
	}
}

func TestEjectionSurvivesUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBalancer(t, ejectionConfig(), equal(4))
		bad := addrs(4)[2]
		fail(t, b, bad, 3)
		require.True(t, stat(t, b, bad).Ejected, "ejected")
		eps := equal(4)
		eps[2].Weight = 5
		require.NoError(t, b.Update(append(eps, lb.Endpoint{Addr: "10.9.9.9:80"})), "Update")
		assert.True(t, stat(t, b, bad).Ejected, "an Update that keeps the address keeps the ejection")
		require.NoError(t, b.Update(equal(2)), "Update removing it")
		require.NoError(t, b.Update(equal(4)), "Update adding it back")
		assert.False(t, stat(t, b, bad).Ejected, "an endpoint re-added after removal starts fresh")
	})
}

func TestEjectionCapHoldsAfterUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := ejectionConfig()
		var returned []string
		cfg.OnReturn = func(ep lb.Endpoint) { returned = append(returned, ep.Addr) }
		b := newBalancer(t, cfg, equal(4))
		bad := addrs(4)[3]
		fail(t, b, bad, 3)
		require.True(t, stat(t, b, bad).Ejected, "ejected among four")
		require.NoError(t, b.Update(equal(4)[2:]), "shrink the set to two, bad included")
		assert.True(t, stat(t, b, bad).Ejected, "one of two may stay ejected")
		require.NoError(t, b.Update(equal(4)[3:]), "shrink the set to the ejected endpoint alone")
		assert.False(t, stat(t, b, bad).Ejected, "the last endpoint cannot stay ejected")
		assert.Equal(t, []string{bad}, returned, "its return is reported")
		assert.Equal(t, 1, b.Stats().Available, "and it is in rotation")
	})
}
