package retry_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/retry"
)

func TestBudgetValidate(t *testing.T) {
	for _, cfg := range []retry.BudgetConfig{
		{Ratio: -0.1}, {Ratio: 101}, {Ratio: nan()}, {MinPerSecond: -1}, {MinPerSecond: nan()}, {MaxSaved: -1}, {MaxSaved: 2_000_000_000},
	} {
		err := cfg.Validate()
		require.Error(t, err, "%+v is invalid", cfg)
		assert.PanicsWithValue(t, err.Error(), func() { retry.NewBudget(cfg) }, "NewBudget panics on %+v", cfg)
	}
	require.NoError(t, retry.BudgetConfig{}.Validate(), "the zero config is valid")
}

// TestBudgetAtFullFailure runs calls that always fail through a budgeted
// policy with a generous attempt cap: the retries must stay within what the
// budget promises.
func TestBudgetAtFullFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 2, MaxSaved: 5})
		p := retry.New(retry.Config{MaxAttempts: 10, Budget: b, DelayFunc: func(int, error) time.Duration { return 10 * time.Millisecond }})
		const calls = 2000
		attempts := 0
		start := time.Now()
		for range calls {
			_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
				attempts++
				return 0, errBoom
			})
			require.Error(t, err)
		}
		seconds := time.Since(start).Seconds()
		bound := calls*(1+0.2) + 5 + 2 + 2*seconds
		assert.LessOrEqual(t, float64(attempts), bound, "attempts stay within calls×(1+Ratio) + MaxSaved + floor")
		assert.Greater(t, float64(attempts), calls*1.2-1, "the budget does allow Ratio retries per call")
		st := b.Stats()
		assert.Equal(t, uint64(calls), st.Calls, "every call deposits")
		assert.Equal(t, uint64(attempts-calls), st.Allowed, "every retry withdrew")
		assert.Positive(t, st.Denied, "retries beyond the budget were denied")
	})
}

func TestBudgetDeniedReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.01, MinPerSecond: 1, MaxSaved: 1})
		p := retry.New(retry.Config{MaxAttempts: 5, Budget: b, DelayFunc: func(int, error) time.Duration { return 0 }})
		calls := 0
		_, err := retry.Do(context.Background(), p, failing(100, errBoom, &calls))
		// The floor holds one retry; the 0.01 deposit is not a whole retry.
		assert.Equal(t, 2, calls, "one retry from the floor, then the budget is empty")
		assert.ErrorIs(t, err, retry.ErrBudget)
		assert.ErrorIs(t, err, errBoom)

		time.Sleep(time.Second) // the floor refills
		calls = 0
		_, err = retry.Do(context.Background(), p, failing(100, errBoom, &calls))
		assert.Equal(t, 2, calls, "a second later the floor allows one retry again")
		assert.ErrorIs(t, err, retry.ErrBudget)
	})
}

func TestBudgetSavesUpToMaxSaved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.5, MinPerSecond: 1, MaxSaved: 3})
		p := retry.New(retry.Config{Budget: b})
		for range 100 {
			_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) { return 0, nil })
			require.NoError(t, err)
		}
		assert.Equal(t, 3.0, b.Stats().Saved, "healthy calls save at most MaxSaved retries")
	})
}

func TestBudgetConcurrent(t *testing.T) {
	b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.5, MinPerSecond: 1, MaxSaved: 1000})
	p := retry.New(retry.Config{MaxAttempts: 3, Budget: b, DelayFunc: func(int, error) time.Duration { return 0 }})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	const goroutines, perG = 8, 500
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for range perG {
				_, _ = retry.Do(context.Background(), p, func(context.Context) (int, error) {
					n++
					return 0, errBoom
				})
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	st := b.Stats()
	calls := goroutines * perG
	assert.Equal(t, uint64(calls), st.Calls)
	assert.Equal(t, uint64(total-calls), st.Allowed, "allowed retries match the extra attempts made")
	// Ratio 0.5 and real time well under a minute: the floor adds a few.
	assert.LessOrEqual(t, float64(total-calls), 0.5*float64(calls)+1+60, "concurrent calls cannot overdraw the budget")
}
