package bulkhead_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/bulkhead"
)

// server simulates a dependency with a concurrency knee: it has `workers`
// workers that each take `service` per request, so latency is flat up to
// `workers` requests in flight and grows in proportion beyond, as
// requests queue for a worker.
type server struct {
	workers chan struct{}
	mu      sync.Mutex
	service time.Duration
}

func newServer(workers int, service time.Duration) *server {
	return &server{workers: make(chan struct{}, workers), service: service}
}

func (s *server) call(ctx context.Context) (int, error) {
	select {
	case s.workers <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	s.mu.Lock()
	d := s.service
	s.mu.Unlock()
	time.Sleep(d)
	<-s.workers
	return 1, nil
}

func (s *server) setService(d time.Duration) {
	s.mu.Lock()
	s.service = d
	s.mu.Unlock()
}

// simulate drives b with `clients` closed-loop clients, more than the
// server's knee, for `duration`, and returns the limit sampled every 100ms
// over the last `tail` of it. during, if set, runs at the start in its own
// goroutine with the simulation's context.
func simulate(t *testing.T, b *bulkhead.Bulkhead, srv *server, clients int, duration, tail time.Duration, during func(ctx context.Context)) []int {
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _ = bulkhead.Do(ctx, b, srv.call)
			}
		}()
	}
	if during != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			during(ctx)
		}()
	}
	time.Sleep(duration - tail)
	var limits []int
	for range int(tail / (100 * time.Millisecond)) {
		limits = append(limits, b.Stats().Limit)
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	return limits
}

// assertNearKnee checks that the median limit is within 20% of the knee
// and that the limit spends most of the time in that band (probes halve
// it briefly).
func assertNearKnee(t *testing.T, limits []int, knee int) {
	t.Helper()
	require.NotEmpty(t, limits)
	sorted := slices.Sorted(slices.Values(limits))
	median := sorted[len(sorted)/2]
	lo, hi := float64(knee)*0.8, float64(knee)*1.2
	assert.InDelta(t, float64(knee), float64(median), float64(knee)*0.2, "the median limit %d is within 20%% of the knee %d", median, knee)
	in := 0
	for _, l := range limits {
		if float64(l) >= lo && float64(l) <= hi {
			in++
		}
	}
	assert.GreaterOrEqual(t, float64(in)/float64(len(limits)), 0.8, "the limit is within 20%% of the knee at least 80%% of the time; samples: %v", limits)
	t.Logf("knee %d, median limit %d, %d/%d samples within 20%%", knee, median, in, len(limits))
}

func TestGradientConvergesToKnee(t *testing.T) {
	for _, start := range []int{5, 200} {
		t.Run(map[int]string{5: "from below", 200: "from above"}[start], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const knee = 40
				b := bulkhead.New(bulkhead.Config{
					MaxConcurrent: start, MaxQueued: 1000,
					Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.Gradient, MaxLimit: 500},
				})
				limits := simulate(t, b, newServer(knee, 100*time.Millisecond), 2*knee, 30*time.Second, 15*time.Second, nil)
				assertNearKnee(t, limits, knee)
			})
		})
	}
}

func TestGradientFollowsSlowerDependency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const knee = 40
		srv := newServer(knee, 50*time.Millisecond)
		b := bulkhead.New(bulkhead.Config{
			MaxConcurrent: 10, MaxQueued: 1000,
			Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.Gradient, ProbeInterval: 300},
		})
		// Halfway, every request takes three times as long: the knee in
		// concurrency is unchanged, but a baseline that never rose would
		// now see every call as queued and hold the limit far below it.
		limits := simulate(t, b, srv, 3*knee, 80*time.Second, 20*time.Second, func(ctx context.Context) {
			time.Sleep(30 * time.Second)
			srv.setService(150 * time.Millisecond)
		})
		assertNearKnee(t, limits, knee)
	})
}

func TestAIMDConvergesToKnee(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const knee = 40
		const service = 100 * time.Millisecond
		b := bulkhead.New(bulkhead.Config{
			MaxConcurrent: 5, MaxQueued: 1000,
			// A call slower than 1.2× the service time means requests
			// are queueing at the dependency.
			Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.AIMD, SlowCall: service * 12 / 10},
		})
		limits := simulate(t, b, newServer(knee, service), 3*knee, 60*time.Second, 20*time.Second, nil)
		assertNearKnee(t, limits, knee)
	})
}

func TestAIMDCutsOnOverloadErrors(t *testing.T) {
	var changes [][2]int
	b := bulkhead.New(bulkhead.Config{
		MaxConcurrent: 100,
		Adaptive:      bulkhead.Adaptive{Algorithm: bulkhead.AIMD, MinLimit: 60},
		OnLimitChange: func(old, new int) { changes = append(changes, [2]int{old, new}) },
	})
	ctx := context.Background()
	for range 10 {
		_, err := bulkhead.Do(ctx, b, func(context.Context) (int, error) { return 0, context.DeadlineExceeded })
		require.ErrorIs(t, err, context.DeadlineExceeded, "Do returns fn's error")
	}
	assert.Equal(t, 60, b.Stats().Limit, "overload errors cut the limit down to MinLimit, never below")
	require.NotEmpty(t, changes, "OnLimitChange reports the cuts")
	assert.Equal(t, [2]int{100, 90}, changes[0], "the first cut multiplies by Backoff")

	for range 10 {
		_, _ = bulkhead.Do(ctx, b, func(context.Context) (int, error) { return 0, context.Canceled })
	}
	assert.Equal(t, 60, b.Stats().Limit, "the caller's cancellations give no sample")
}

func TestAdaptiveLimitBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(bulkhead.Config{
			MaxConcurrent: 4, MaxQueued: 1000,
			Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.Gradient, MinLimit: 2, MaxLimit: 12},
		})
		// A dependency with no knee at all: the limit rises to MaxLimit.
		limits := simulate(t, b, newServer(10_000, 10*time.Millisecond), 100, 20*time.Second, 5*time.Second, nil)
		for _, l := range limits {
			assert.LessOrEqual(t, l, 12, "the limit never exceeds MaxLimit")
			assert.GreaterOrEqual(t, l, 2, "the limit never falls below MinLimit")
		}
		assert.Equal(t, 12, slices.Max(limits), "with no knee the limit reaches MaxLimit")
	})
}
