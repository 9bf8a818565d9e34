package lb_test

import (
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

// simulate runs a closed system: perServer*n requests are always in flight,
// and at each step a uniformly chosen one completes (equal service rates)
// and a new one is picked. pick returns the server chosen for a request and
// the function that completes it. simulate returns the largest in-flight
// count per unit of weight seen on any server after warm-up, divided by the
// mean.
func simulate(pick func() (int, func()), weights []int, perServer, steps int) float64 {
	totalWeight := 0
	for _, w := range weights {
		totalWeight += w
	}
	type request struct {
		server int
		done   func()
	}
	load := make([]int, len(weights))
	open := make([]request, 0, perServer*len(weights))
	start := func() int {
		i, done := pick()
		load[i]++
		open = append(open, request{i, done})
		return i
	}
	for range cap(open) {
		start()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mean := float64(len(open)) / float64(totalWeight)
	peak := 0.0
	for step := range steps {
		k := rng.IntN(len(open))
		r := open[k]
		open[k] = open[len(open)-1]
		open = open[:len(open)-1]
		load[r.server]--
		r.done()
		i := start()
		if step >= steps/10 { // after warm-up; only the server just picked can set a new peak
			peak = max(peak, float64(load[i])/float64(weights[i])/mean)
		}
	}
	return peak
}

func TestLeastLoadedKeepsPeakToMeanLow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []int
	}{
		{"100 equal servers", repeatInt(1, 100)},
		{"100 servers weighted 1 to 4", func() []int {
			w := make([]int, 100)
			for i := range w {
				w[i] = 1 + i%4
			}
			return w
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBalancer(t, lb.Config{Policy: lb.LeastLoaded}, weighted(tc.weights...))
			index := map[string]int{}
			for i, a := range addrs(len(tc.weights)) {
				index[a] = i
			}
			pick := func() (int, func()) {
				p, err := b.Pick()
				require.NoError(t, err, "Pick")
				return index[p.Addr()], func() { p.Done(nil) }
			}
			ratio := simulate(pick, tc.weights, 20, 50_000)
			t.Logf("%s: peak-to-mean in-flight %.3f", tc.name, ratio)
			assert.LessOrEqual(t, ratio, 1.5, "power of two choices keeps every server within 1.5x the mean")
			var inFlight int64
			for _, e := range b.Stats().PerEndpoint {
				inFlight += e.InFlight
			}
			assert.Equal(t, int64(20*len(tc.weights)), inFlight, "the balancer counts exactly the requests still open")
		})
	}
	t.Run("random picks exceed the bound", func(t *testing.T) {
		// The same simulation with uniform random picks, to show that the
		// bound above is not met by chance.
		rng := rand.New(rand.NewPCG(3, 4))
		pick := func() (int, func()) { return rng.IntN(100), func() {} }
		ratio := simulate(pick, repeatInt(1, 100), 20, 50_000)
		t.Logf("random: peak-to-mean in-flight %.3f", ratio)
		assert.Greater(t, ratio, 1.5, "random assignment overloads some server")
	})
}

func repeatInt(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestLeastLoadedAvoidsTheBusierEndpoint(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.LeastLoaded}, equal(2))
	busy, _ := b.Pick()
	for range 100 {
		p, err := b.Pick()
		require.NoError(t, err, "Pick")
		assert.NotEqual(t, busy.Addr(), p.Addr(), "with two endpoints both are compared: the idle one wins")
		p.Done(nil)
	}
	busy.Done(nil)
	assert.Zero(t, stat(t, b, busy.Addr()).InFlight, "Done releases the request")
}

func TestLeastLoadedFollowsWeightsWhenIdle(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.LeastLoaded}, weighted(100, 1, 1, 1, 1, 1, 1, 1, 1, 1))
	counts := countPicks(t, b, 20_000, nil)
	// Sequential picks see equal (zero) loads, so the heavier of two draws
	// wins; endpoints are drawn in proportion to weight.
	assert.Greater(t, counts[addrs(1)[0]], 18_000, "the weight-100 endpoint takes most picks")
}

func TestPeakEWMAPrefersFastEndpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBalancer(t, lb.Config{Policy: lb.PeakEWMA, DecayTime: 10 * time.Second}, equal(2))
		fast, slow := addrs(2)[0], addrs(2)[1]
		latency := map[string]time.Duration{fast: 10 * time.Millisecond, slow: 100 * time.Millisecond}
		counts := map[string]int{}
		for range 2000 {
			p, err := b.Pick()
			require.NoError(t, err, "Pick")
			time.Sleep(latency[p.Addr()])
			p.Done(nil)
			counts[p.Addr()]++
		}
		assert.Greater(t, counts[fast], 1900, "the endpoint ten times faster gets almost everything")
		assert.Positive(t, counts[slow], "the slow endpoint is still probed as its estimate decays")
		assert.InDelta(t, float64(10*time.Millisecond), float64(stat(t, b, fast).Latency), float64(time.Millisecond),
			"the estimate tracks the fast endpoint's latency")
	})
}

func TestPeakEWMAReactsToPeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBalancer(t, lb.Config{Policy: lb.PeakEWMA, FailurePenalty: 100 * time.Millisecond}, equal(1))
		addr := addrs(1)[0]
		run := func(d time.Duration, err error) {
			p, perr := b.Pick()
			require.NoError(t, perr, "Pick")
			time.Sleep(d)
			p.Done(err)
		}
		for range 10 {
			run(10*time.Millisecond, nil)
		}
		run(500*time.Millisecond, nil)
		assert.InDelta(t, float64(500*time.Millisecond), float64(stat(t, b, addr).Latency), float64(time.Millisecond),
			"a slower response replaces the estimate at once")
		run(time.Millisecond, errBoom)
		assert.InDelta(t, float64(500*time.Millisecond), float64(stat(t, b, addr).Latency), float64(time.Millisecond),
			"a fast failure does not make the endpoint look faster")
		time.Sleep(10 * time.Second)
		assert.InDelta(t, float64(500*time.Millisecond)/2.718, float64(stat(t, b, addr).Latency), float64(2*time.Millisecond),
			"the estimate decays by e over DecayTime")
		run(10*time.Millisecond, nil)
		assert.Less(t, stat(t, b, addr).Latency, 200*time.Millisecond, "fast responses bring it down")
	})
}

func TestPeakEWMAPenalizesFastFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBalancer(t, lb.Config{Policy: lb.PeakEWMA}, equal(2))
		healthy, broken := addrs(2)[0], addrs(2)[1]
		counts := map[string]int{}
		for range 1000 {
			p, err := b.Pick()
			require.NoError(t, err, "Pick")
			counts[p.Addr()]++
			if p.Addr() == broken {
				p.Done(errBoom) // fails at once: faster than any healthy answer
				continue
			}
			time.Sleep(10 * time.Millisecond)
			p.Done(nil)
		}
		assert.Greater(t, stat(t, b, broken).Latency, 10*stat(t, b, healthy).Latency,
			"a failure records the 1 s FailurePenalty, not its microsecond")
		assert.Greater(t, counts[healthy], 980, "the endpoint that fails fast does not attract the traffic")
		t.Logf("picks: healthy %d, broken %d", counts[healthy], counts[broken])
	})
}

func TestPeakEWMAProbesUnmeasuredEndpointsOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBalancer(t, lb.Config{Policy: lb.PeakEWMA}, equal(2))
		measured, fresh := addrs(2)[0], addrs(2)[1]
		// Measure one endpoint first by removing the other.
		require.NoError(t, b.Update(equal(1)), "one endpoint")
		p, _ := b.Pick()
		time.Sleep(50 * time.Millisecond)
		p.Done(nil)
		require.NoError(t, b.Update(equal(2)), "add an unmeasured endpoint")

		first, _ := b.Pick()
		assert.Equal(t, fresh, first.Addr(), "an idle unmeasured endpoint costs nothing, so it is probed")
		for range 20 {
			p, _ := b.Pick()
			assert.Equal(t, measured, p.Addr(), "while its probe is out, the unmeasured endpoint gets no more")
			p.Done(nil)
		}
		first.Done(nil)
	})
}

func TestRecordLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, policy := range []lb.Policy{lb.WeightedRoundRobin, lb.LeastLoaded, lb.ConsistentHash} {
			on := newBalancer(t, lb.Config{Policy: policy, RecordLatency: true}, equal(1))
			off := newBalancer(t, lb.Config{Policy: policy}, equal(1))
			for _, b := range []*lb.Balancer{on, off} {
				p, err := b.PickKey("k")
				require.NoError(t, err, "PickKey")
				time.Sleep(30 * time.Millisecond)
				p.Done(nil)
			}
			assert.InDelta(t, float64(30*time.Millisecond), float64(stat(t, on, addrs(1)[0]).Latency), float64(time.Millisecond),
				"%v records latency when asked", policy)
			assert.Zero(t, stat(t, off, addrs(1)[0]).Latency, "%v skips the clock by default", policy)
		}
	})
}
