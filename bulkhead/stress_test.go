package bulkhead_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/bulkhead"
)

func storeMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// TestStress offers 64 goroutines × 1,000 calls to a bulkhead that admits
// 8 at a time and queues 16, and checks the bounds and the books.
func TestStress(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  bulkhead.Config
	}{
		{"fixed", bulkhead.Config{MaxConcurrent: 8, MaxQueued: 16}},
		{"gradient", bulkhead.Config{MaxConcurrent: 8, MaxQueued: 16,
			Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.Gradient, MinLimit: 2, MaxLimit: 8, ProbeInterval: 100}}},
		{"aimd", bulkhead.Config{MaxConcurrent: 8, MaxQueued: 16,
			Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.AIMD, MinLimit: 2, MaxLimit: 8}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const goroutines, calls = 64, 1000
			b := bulkhead.New(tc.cfg)
			var inflight, peak, peakQueued atomic.Int64
			var admitted, rejected, other atomic.Int64
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range calls {
						_, err := bulkhead.Do(context.Background(), b, func(context.Context) (int, error) {
							storeMax(&peak, inflight.Add(1))
							storeMax(&peakQueued, int64(b.Stats().Queued))
							if (g+i)%3 == 0 {
								runtime.Gosched() // hold the permit a little longer
							}
							inflight.Add(-1)
							if i%10 == 0 {
								return 0, context.DeadlineExceeded // an overload for the adaptive limits
							}
							return 0, nil
						})
						switch {
						case err == nil, errors.Is(err, context.DeadlineExceeded):
							admitted.Add(1)
						case errors.Is(err, bulkhead.ErrQueueFull):
							rejected.Add(1)
						default:
							other.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			st := b.Stats()
			assert.LessOrEqual(t, peak.Load(), int64(8), "never more calls in flight than the limit")
			assert.LessOrEqual(t, peakQueued.Load(), int64(16), "never more callers queued than MaxQueued")
			assert.Zero(t, other.Load(), "no error other than ErrQueueFull")
			assert.Equal(t, int64(goroutines*calls), admitted.Load()+rejected.Load(), "admitted + rejected = offered")
			assert.Equal(t, uint64(rejected.Load()), st.Rejected, "Stats counts every rejection")
			assert.Zero(t, st.InFlight, "no permit is left held")
			assert.Zero(t, st.Queued, "no waiter is left queued")
			t.Logf("admitted %d, rejected %d, peak %d, peak queue %d, final limit %d", admitted.Load(), rejected.Load(), peak.Load(), peakQueued.Load(), st.Limit)
		})
	}
}

// TestCancelStorm has waiters give up at random while permits are
// released: none may leak or take a permit with it.
func TestCancelStorm(t *testing.T) {
	const limit = 4
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: limit, MaxQueued: 1000})
	var wg sync.WaitGroup
	var got, canceled atomic.Int64
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%2 == 0 {
				go cancel() // races with the grant
			}
			p, err := b.Acquire(ctx)
			if err != nil {
				assert.ErrorIs(t, err, context.Canceled, "a waiter fails only by its own cancellation")
				canceled.Add(1)
				return
			}
			got.Add(1)
			runtime.Gosched()
			p.Release()
		}()
	}
	wg.Wait()
	st := b.Stats()
	assert.Zero(t, st.InFlight, "every permit came back")
	assert.Zero(t, st.Queued, "every waiter left the queue")
	assert.Equal(t, int64(400), got.Load()+canceled.Load())
	for range limit {
		_, ok := b.TryAcquire()
		assert.True(t, ok, "all %d permits are free again", limit)
	}
	_, ok := b.TryAcquire()
	assert.False(t, ok, "and no more than that")
}

// TestGrantRacesCancel releases a permit and cancels the waiter's context
// at the same instant, before the waiter runs again. Canceling first wakes
// the waiter on its context although the permit has been granted to it:
// it must give the permit back. Releasing first wakes it on the grant.
// Either way the permit must end up free.
func TestGrantRacesCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1})
		won := 0
		for round := range 100 {
			holder, err := b.Acquire(context.Background())
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			result := make(chan error, 1)
			go func() {
				p, err := b.Acquire(ctx)
				if err == nil {
					p.Release()
				}
				result <- err
			}()
			synctest.Wait() // the waiter is queued
			if round%2 == 0 {
				cancel()
				holder.Release() // grants the permit to a waiter already woken by its context
			} else {
				holder.Release()
				cancel()
			}
			if <-result == nil {
				won++
			}
			synctest.Wait()
			st := b.Stats()
			require.Zero(t, st.InFlight, "the permit is free whichever way the race went")
			require.Zero(t, st.Queued)
		}
		assert.Equal(t, 50, won, "waiters woken by the grant keep the permit")
		assert.Equal(t, uint64(50), b.Stats().Canceled, "waiters woken by their context give the granted permit back")
	})
}

func TestPanicStorm(t *testing.T) {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 4, MaxQueued: 100, Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.AIMD, MaxLimit: 4}})
	var wg sync.WaitGroup
	var panics atomic.Int64
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				func() {
					defer func() {
						if r := recover(); r != nil {
							panics.Add(1)
						}
					}()
					_, _ = bulkhead.Do(context.Background(), b, func(context.Context) (int, error) {
						if (g+i)%2 == 0 {
							panic("boom")
						}
						return 0, nil
					})
				}()
			}
		}()
	}
	wg.Wait()
	assert.Positive(t, panics.Load(), "panics reached the callers")
	st := b.Stats()
	assert.Zero(t, st.InFlight, "panicking calls returned their permits")
	assert.Zero(t, st.Queued)
}

func TestWaitTimeoutStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 2, MaxQueued: 50, MaxWait: 10 * time.Millisecond})
		var wg sync.WaitGroup
		var ok, timedOut atomic.Int64
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i%7) * time.Millisecond)
				_, err := bulkhead.Do(context.Background(), b, func(context.Context) (int, error) {
					time.Sleep(3 * time.Millisecond)
					return 0, nil
				})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, bulkhead.ErrWaitTimeout), errors.Is(err, bulkhead.ErrQueueFull):
					timedOut.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
			}()
		}
		wg.Wait()
		st := b.Stats()
		assert.Equal(t, int64(100), ok.Load()+timedOut.Load())
		assert.Equal(t, uint64(timedOut.Load()), st.TimedOut+st.Rejected, "Stats counts the timeouts and rejections")
		assert.Positive(t, st.TimedOut, "some waiters timed out")
		assert.Zero(t, st.InFlight)
		assert.Zero(t, st.Queued)
	})
}
