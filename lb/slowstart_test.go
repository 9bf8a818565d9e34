package lb_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

// share returns addr's fraction of picks over whole cycles of the current
// schedule, which the weighted policies follow exactly.
func share(t *testing.T, b *lb.Balancer, addr string) float64 {
	t.Helper()
	n := b.Stats().ScheduleLen
	if n == 0 {
		n = b.Stats().Available
	}
	n *= 10
	return float64(countPicks(t, b, n, nil)[addr]) / float64(n)
}

func TestSlowStartRampsNewEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy lb.Policy
	}{{"weighted", lb.WeightedRoundRobin}, {"round robin", lb.RoundRobin}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := lb.Config{Policy: tc.policy, SlowStart: lb.SlowStart{Window: 100 * time.Second}}
				b := newBalancer(t, cfg, equal(3))
				assert.Zero(t, b.Stats().Warming, "endpoints of the first Update start at full weight")
				time.Sleep(cfg.SlowStart.Window) // the three are established
				require.NoError(t, b.Update(equal(4)), "add a fourth endpoint")
				fresh := addrs(4)[3]

				assert.InDelta(t, 0.1, stat(t, b, fresh).WeightFactor, 1e-9, "a new endpoint starts at MinPercent")
				assert.InDelta(t, 100.0/3100, share(t, b, fresh), 1e-9, "and gets a tenth of a full share")

				time.Sleep(50 * time.Second)
				synctest.Wait()
				assert.InDelta(t, 0.5, stat(t, b, fresh).WeightFactor, 1e-9, "half way through the window")
				assert.InDelta(t, 500.0/3500, share(t, b, fresh), 1e-9, "half a share half way through")

				time.Sleep(50 * time.Second)
				synctest.Wait()
				st := b.Stats()
				assert.Zero(t, st.Warming, "the ramp ends with the window")
				assert.Equal(t, 1.0, stat(t, b, fresh).WeightFactor, "full weight after the window")
				assert.InDelta(t, 0.25, share(t, b, fresh), 1e-9, "a full share after the window")
			})
		})
	}
}

// A fleet whose instances appear one Update at a time, as a discovery
// watch reports registrations, must not leave all but the first at a tenth
// of their weight: none of them has load to hand over yet.
func TestSlowStartSparesAFleetStartingTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lb.Config{SlowStart: lb.SlowStart{Window: 30 * time.Second}}
		b := newBalancer(t, cfg, equal(1))
		for n := 2; n <= 4; n++ {
			time.Sleep(time.Second) // registrations trickle in
			require.NoError(t, b.Update(equal(n)), "instance %d appears", n)
		}
		assert.Zero(t, b.Stats().Warming, "nobody warms up while the whole set is new")
		for _, a := range addrs(4) {
			assert.InDelta(t, 0.25, share(t, b, a), 1e-9, "%s gets a full share", a)
		}

		time.Sleep(cfg.SlowStart.Window)
		require.NoError(t, b.Update(equal(5)), "a fifth instance joins the running fleet")
		assert.Equal(t, 1, b.Stats().Warming, "it warms up")
		assert.InDelta(t, 0.1, stat(t, b, addrs(5)[4]).WeightFactor, 1e-9, "from MinPercent")
	})
}

func TestSlowStartAggression(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lb.Config{SlowStart: lb.SlowStart{Window: 100 * time.Second, Aggression: 2, MinPercent: 1}}
		b := newBalancer(t, cfg, equal(1))
		time.Sleep(cfg.SlowStart.Window)
		require.NoError(t, b.Update(equal(2)), "add an endpoint")
		fresh := addrs(2)[1]
		time.Sleep(25 * time.Second)
		synctest.Wait()
		assert.InDelta(t, 0.5, stat(t, b, fresh).WeightFactor, 1e-9, "(1/4)^(1/2) a quarter into the window")
		time.Sleep(56 * time.Second)
		synctest.Wait()
		assert.InDelta(t, 0.9, stat(t, b, fresh).WeightFactor, 1e-9, "(81/100)^(1/2)")
	})
}

func TestSlowStartAfterEjection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lb.Config{
			Ejection:  lb.Ejection{ConsecutiveFailures: 1, BaseTime: time.Second, MaxPercent: 50},
			SlowStart: lb.SlowStart{Window: 10 * time.Second},
		}
		b := newBalancer(t, cfg, equal(2))
		bad := addrs(2)[0]
		fail(t, b, bad, 1)
		require.True(t, stat(t, b, bad).Ejected, "ejected")
		time.Sleep(time.Second)
		synctest.Wait()
		e := stat(t, b, bad)
		assert.False(t, e.Ejected, "back after the ejection")
		assert.InDelta(t, 0.1, e.WeightFactor, 1e-9, "a returning endpoint warms up again")
		time.Sleep(10 * time.Second)
		assert.Equal(t, 1.0, stat(t, b, bad).WeightFactor, "then reaches full weight")
	})
}

func TestSlowStartLeastLoadedSamplesByRampedWeight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lb.Config{Policy: lb.LeastLoaded, SlowStart: lb.SlowStart{Window: 100 * time.Second}}
		b := newBalancer(t, cfg, equal(1))
		time.Sleep(cfg.SlowStart.Window)
		require.NoError(t, b.Update(equal(2)), "add an endpoint")
		fresh := addrs(2)[1]
		// Hold every pick open: the new endpoint's 0.1 weight makes each of
		// its requests count ten times against it.
		var open []lb.Pick
		for range 1100 {
			p, err := b.Pick()
			require.NoError(t, err, "Pick")
			open = append(open, p)
		}
		n := 0
		for _, p := range open {
			if p.Addr() == fresh {
				n++
			}
			p.Done(nil)
		}
		assert.InDelta(t, 100, n, 2, "in-flight load splits 10:1 by ramped weight")
	})
}
