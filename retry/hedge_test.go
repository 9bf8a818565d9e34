package retry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/retry"
)

func TestHedgeSlowFirstAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxAttempts: 3, HedgeDelay: 50 * time.Millisecond})
		var started atomic.Int32
		var canceled atomic.Int32
		start := time.Now()
		v, err := retry.Hedge(context.Background(), p, func(ctx context.Context) (int, error) {
			n := started.Add(1)
			latency := time.Second // the first attempt is stuck
			if n > 1 {
				latency = 10 * time.Millisecond
			}
			select {
			case <-time.After(latency):
				return int(n), nil
			case <-ctx.Done():
				canceled.Add(1)
				return 0, ctx.Err()
			}
		})
		require.NoError(t, err)
		assert.Equal(t, 2, v, "the hedged attempt's result wins")
		assert.Equal(t, 60*time.Millisecond, time.Since(start), "the answer comes at hedge delay + fast latency")
		synctest.Wait()
		assert.Equal(t, int32(2), started.Load(), "no third attempt was needed")
		assert.Equal(t, int32(1), canceled.Load(), "the slow attempt is canceled")
	})
}

func TestHedgeFastFirstAttemptStartsNoOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxAttempts: 3, HedgeDelay: 50 * time.Millisecond})
		var started atomic.Int32
		v, err := retry.Hedge(context.Background(), p, func(ctx context.Context) (int, error) {
			started.Add(1)
			time.Sleep(10 * time.Millisecond)
			return 1, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, int32(1), started.Load(), "an answer before the hedge delay starts nothing else")
	})
}

func TestHedgeFailureStartsNextAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delays []time.Duration
		p := retry.New(retry.Config{MaxAttempts: 3, HedgeDelay: time.Second,
			OnRetry: func(_ int, _ error, d time.Duration) { delays = append(delays, d) }})
		var started atomic.Int32
		start := time.Now()
		v, err := retry.Hedge(context.Background(), p, func(ctx context.Context) (int, error) {
			n := started.Add(1)
			time.Sleep(10 * time.Millisecond)
			if n < 3 {
				return 0, errBoom
			}
			return int(n), nil
		})
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, 30*time.Millisecond, time.Since(start), "each failure starts the next attempt without waiting")
		assert.Equal(t, []time.Duration{0, 0}, delays, "OnRetry reports the failure-triggered attempts with no delay")
	})
}

func TestHedgeAllFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxAttempts: 3, HedgeDelay: 5 * time.Millisecond})
		var started atomic.Int32
		_, err := retry.Hedge(context.Background(), p, func(ctx context.Context) (int, error) {
			started.Add(1)
			time.Sleep(20 * time.Millisecond)
			return 0, errBoom
		})
		var rerr *retry.Error
		require.ErrorAs(t, err, &rerr)
		assert.Equal(t, 3, rerr.Attempts, "Attempts counts the attempts started")
		assert.Equal(t, int32(3), started.Load(), "never more than MaxAttempts attempts")
		assert.ErrorIs(t, err, retry.ErrAttempts)
		assert.ErrorIs(t, err, errBoom)
	})
}

func TestHedgePermanentStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxAttempts: 5, HedgeDelay: time.Second})
		var started atomic.Int32
		_, err := retry.Hedge(context.Background(), p, func(ctx context.Context) (int, error) {
			started.Add(1)
			return 0, retry.Permanent(errBoom)
		})
		assert.ErrorIs(t, err, retry.ErrPermanent)
		assert.Equal(t, int32(1), started.Load(), "a permanent error starts no other attempt")
	})
}

func TestHedgeDrawsOnBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.01, MinPerSecond: 1, MaxSaved: 1})
		p := retry.New(retry.Config{MaxAttempts: 5, HedgeDelay: 10 * time.Millisecond, Budget: b})
		var started atomic.Int32
		v, err := retry.Hedge(context.Background(), p, func(ctx context.Context) (int, error) {
			started.Add(1)
			select {
			case <-time.After(100 * time.Millisecond):
				return 1, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		})
		require.NoError(t, err, "running attempts still answer when the budget stops new ones")
		assert.Equal(t, 1, v)
		assert.Equal(t, int32(2), started.Load(), "the floor's single retry allows one hedge only")
		assert.Equal(t, uint64(1), b.Stats().Denied, "the refused hedge is counted")
	})
}

func TestHedgeContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxAttempts: 2, HedgeDelay: 10 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := retry.Hedge(ctx, p, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		assert.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline ends Hedge")

		done, cancel2 := context.WithCancel(context.Background())
		cancel2()
		calls := 0
		_, err = retry.Hedge(done, p, failing(0, nil, &calls))
		assert.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, calls, "fn does not run under a done context")
	})
}
