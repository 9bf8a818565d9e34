package breaker_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/breaker"
)

// TestConcurrentMixedOutcomes runs 8 goroutines x 10,000 calls whose failure
// rate swings between healthy and failing phases, so the breaker trips and
// recovers many times under contention, and checks that every trip is one
// transition and that the counts add up.
func TestConcurrentMixedOutcomes(t *testing.T) {
	const workers, calls = 8, 10_000
	synctest.Test(t, func(t *testing.T) {
		var (
			mu   sync.Mutex
			seen []transition
		)
		b := breaker.New(breaker.Config{
			Name:       "mixed",
			WindowSize: 50, MinCalls: 20, FailureRate: 50, ConsecutiveFailures: 10,
			OpenDuration: 5 * time.Millisecond, MaxOpenDuration: 20 * time.Millisecond,
			HalfOpenProbes: 2, SuccessesToClose: 3,
			OnStateChange: func(_ string, from, to breaker.State) {
				mu.Lock()
				seen = append(seen, transition{from, to})
				mu.Unlock()
			},
		})
		var admitted, rejected, failed, ignored, ran atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for i := range calls {
					failRate := 0.05
					if (i/500)%2 == 1 {
						failRate = 0.9 // a failing phase
					}
					var result error
					switch r := rng.Float64(); {
					case r < failRate:
						result = errBoom
					case r < failRate+0.02:
						result = context.Canceled
					}
					_, err := breaker.Do(context.Background(), b, func(context.Context) (int, error) {
						ran.Add(1)
						return 0, result
					})
					switch {
					case errors.Is(err, breaker.ErrOpen):
						rejected.Add(1)
					case errors.Is(err, errBoom):
						admitted.Add(1)
						failed.Add(1)
					case errors.Is(err, context.Canceled):
						admitted.Add(1)
						ignored.Add(1)
					case err == nil:
						admitted.Add(1)
					default:
						t.Errorf("unexpected error %v", err)
					}
					if i%20 == 19 {
						time.Sleep(time.Millisecond) // let open periods pass
					}
				}
			}()
		}
		wg.Wait()
		synctest.Wait() // the last timer-driven transition, if any, is delivered

		s := b.Stats()
		assert.Equal(t, int64(workers*calls), admitted.Load()+rejected.Load(), "every call was admitted or rejected")
		assert.Equal(t, admitted.Load(), ran.Load(), "fn ran exactly for the admitted calls")
		assert.LessOrEqual(t, s.Discarded, uint64(admitted.Load()), "only admitted calls can be discarded")
		assert.LessOrEqual(t, s.Calls, 50, "the window never exceeds its size")
		assert.LessOrEqual(t, s.Failures, s.Calls)

		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, seen)
		assert.Equal(t, s.Transitions, uint64(len(seen)), "one callback per transition")
		var opens uint64
		from := breaker.StateClosed
		for i, tr := range seen {
			require.Equal(t, from, tr.from, "transition %d starts where the previous one ended: %v", i, seen[max(0, i-3):i+1])
			require.NotEqual(t, tr.from, tr.to, "transition %d changes state", i)
			switch tr.to {
			case breaker.StateOpen:
				opens++
				assert.Contains(t, []breaker.State{breaker.StateClosed, breaker.StateHalfOpen}, tr.from,
					"only a trip or a failed probe opens (transition %d)", i)
			case breaker.StateHalfOpen:
				assert.Equal(t, breaker.StateOpen, tr.from, "half-open follows open (transition %d)", i)
			case breaker.StateClosed:
				assert.Equal(t, breaker.StateHalfOpen, tr.from, "closing follows probing (transition %d)", i)
			}
			from = tr.to
		}
		assert.Equal(t, s.Opens, opens, "Stats counts each opening once")
		assert.Greater(t, opens, uint64(10), "the run tripped the breaker many times")
		assert.Equal(t, s.State, from, "the last transition is the current state")
		t.Logf("%d calls: %d admitted (%d failed, %d ignored), %d rejected, %d transitions, %d opens, %d discarded",
			workers*calls, admitted.Load(), failed.Load(), ignored.Load(), rejected.Load(), len(seen), opens, s.Discarded)
	})
}

type transition struct{ from, to breaker.State }

// TestConcurrentTripOpensOnce releases many failures at once against a
// breaker one failure away from tripping.
func TestConcurrentTripOpensOnce(t *testing.T) {
	for round := range 20 {
		var opens atomic.Int64
		b := breaker.New(breaker.Config{
			ConsecutiveFailures: 5, OpenDuration: time.Hour,
			OnStateChange: func(_ string, _, to breaker.State) {
				if to == breaker.StateOpen {
					opens.Add(1)
				}
			},
		})
		permits := make([]breaker.Permit, 64)
		for i := range permits {
			p, err := b.Allow()
			require.NoError(t, err)
			permits[i] = p
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, p := range permits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p.Done(errBoom)
			}()
		}
		close(start)
		wg.Wait()
		s := b.Stats()
		require.Equal(t, int64(1), opens.Load(), "round %d: 64 concurrent failures open the breaker once", round)
		assert.Equal(t, uint64(1), s.Opens)
		assert.Equal(t, uint64(64-5), s.Discarded, "round %d: failures after the trip belong to the old generation", round)
		b.Reset()
	}
}

// TestTimeWindowCountsConcurrentSuccessesExactly has 8 goroutines record
// successes in lockstep rounds 10ms apart, racing the lock-free bucket
// counter against bucket rotation, and checks the window holds exactly the
// calls of its last 10 buckets.
func TestTimeWindowCountsConcurrentSuccessesExactly(t *testing.T) {
	const workers, rounds, perRound = 8, 20, 500
	for _, failFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean", true: "after an expired failure"}[failFirst], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := breaker.New(breaker.Config{
					WindowDuration: 100 * time.Millisecond, WindowBuckets: 10, ConsecutiveFailures: 5,
				})
				if failFirst {
					require.ErrorIs(t, call(b, errBoom), errBoom)
				}
				var wg sync.WaitGroup
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for r := range rounds {
							for range perRound {
								if _, err := breaker.Do(context.Background(), b, succeed); err != nil {
									t.Errorf("round %d: %v", r, err)
									return
								}
							}
							if r < rounds-1 {
								time.Sleep(10 * time.Millisecond)
							}
						}
					}()
				}
				wg.Wait()
				s := b.Stats()
				assert.Equal(t, 10*workers*perRound, s.Calls, "the last 10 rounds, one bucket each")
				assert.Zero(t, s.Failures, "the failure of round 0 has expired")
			})
		})
	}
}
