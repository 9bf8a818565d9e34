package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/distkit/distkit/retry"
)

// propertyRounds × rapid's default 100 checks gives the number of cases
// each property runs: 10 rounds, 1,000 cases, each with its own seed.
const propertyRounds = 10

// bubbleTB hides *testing.T from rapid, which would otherwise call
// t.Deadline, forbidden inside a synctest bubble.
type bubbleTB struct{ *testing.T }

// checkInBubble runs prop propertyRounds times under rapid, inside a
// synctest bubble so that delays take no real time, and fails unless at
// least propertyRounds×100 cases ran.
func checkInBubble(t *testing.T, prop func(*rapid.T)) {
	cases := 0
	counted := func(rt *rapid.T) {
		cases++
		prop(rt)
	}
	for round := range propertyRounds {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { rapid.Check(bubbleTB{t}, counted) })
		})
	}
	if !testing.Short() && cases < propertyRounds*100 {
		t.Fatalf("only %d cases ran, want at least %d", cases, propertyRounds*100)
	}
	t.Logf("%d cases", cases)
}

func drawDuration(t *rapid.T, label string, lo, hi time.Duration) time.Duration {
	return time.Duration(rapid.Int64Range(int64(lo), int64(hi)).Draw(t, label))
}

// TestPropertyDo checks, over random policies, failure patterns, attempt
// durations, hints, deadlines and elapsed caps, that Do never exceeds its
// attempt cap, never waits longer than MaxDelay, never sleeps past the
// context's deadline or MaxElapsed, and reports what happened truthfully.
func TestPropertyDo(t *testing.T) {
	checkInBubble(t, func(t *rapid.T) {
		cfg := retry.Config{
			MaxAttempts:  rapid.IntRange(1, 12).Draw(t, "maxAttempts"),
			Backoff:      retry.Backoff(rapid.IntRange(0, 1).Draw(t, "backoff")),
			InitialDelay: drawDuration(t, "initial", time.Millisecond, time.Second),
			Multiplier:   rapid.Float64Range(1, 4).Draw(t, "multiplier"),
		}
		cfg.MaxDelay = cfg.InitialDelay + drawDuration(t, "maxExtra", 0, 20*time.Second)
		cfg.Jitter = retry.Jitter(rapid.IntRange(0, 3).Draw(t, "jitter"))
		if cfg.Jitter == retry.JitterDecorrelated {
			cfg.Backoff = retry.Exponential
		}
		if rapid.Bool().Draw(t, "hasMaxElapsed") {
			cfg.MaxElapsed = drawDuration(t, "maxElapsed", time.Millisecond, time.Minute)
		}
		var timeout time.Duration
		if rapid.Bool().Draw(t, "hasDeadline") {
			timeout = drawDuration(t, "timeout", time.Millisecond, 2*time.Minute)
		}
		if rapid.Bool().Draw(t, "unlimited") && (cfg.MaxElapsed > 0 || timeout > 0) {
			cfg.MaxAttempts = retry.Unlimited
		}
		failures := rapid.IntRange(0, 30).Draw(t, "failures")
		attemptTime := drawDuration(t, "attemptTime", 0, 500*time.Millisecond)
		hint := drawDuration(t, "hint", -time.Second, time.Minute)
		useHint := rapid.Bool().Draw(t, "useHint")

		var delays []time.Duration
		cfg.OnRetry = func(_ int, _ error, d time.Duration) { delays = append(delays, d) }
		p := retry.New(cfg)

		ctx := context.Background()
		start := time.Now()
		var deadline time.Time
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
			deadline = start.Add(timeout)
		}
		var starts []time.Time
		var firstFailure time.Time
		calls := 0
		_, err := retry.Do(ctx, p, func(ctx context.Context) (int, error) {
			calls++
			starts = append(starts, time.Now())
			select {
			case <-time.After(attemptTime):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			if calls > failures {
				return calls, nil
			}
			if firstFailure.IsZero() {
				firstFailure = time.Now()
			}
			if useHint {
				return 0, retry.After(errBoom, hint)
			}
			return 0, errBoom
		})
		end := time.Now()

		if calls > cfg.MaxAttempts {
			t.Fatalf("%d attempts exceed MaxAttempts %d", calls, cfg.MaxAttempts)
		}
		for i, d := range delays {
			if d < 0 || d > cfg.MaxDelay {
				t.Fatalf("delay %d is %v, outside [0, %v]", i, d, cfg.MaxDelay)
			}
		}
		if len(delays) != max(calls-1, 0) {
			t.Fatalf("%d delays reported for %d attempts", len(delays), calls)
		}
		if !deadline.IsZero() && end.After(deadline) {
			t.Fatalf("Do returned at %v, past the deadline %v", end.Sub(start), timeout)
		}
		for i, s := range starts[1:] {
			if !deadline.IsZero() && !s.Before(deadline) {
				t.Fatalf("attempt %d started at %v, not before the deadline %v", i+2, s.Sub(start), timeout)
			}
			if cfg.MaxElapsed > 0 && s.Sub(firstFailure) > cfg.MaxElapsed {
				t.Fatalf("attempt %d started %v after the first failure, past MaxElapsed %v", i+2, s.Sub(firstFailure), cfg.MaxElapsed)
			}
		}
		if err == nil {
			if calls != failures+1 {
				t.Fatalf("success after %d attempts but %d failures were planned", calls, failures)
			}
			return
		}
		var rerr *retry.Error
		if !errors.As(err, &rerr) {
			t.Fatalf("failure %v is not an *Error", err)
		}
		if rerr.Attempts != calls {
			t.Fatalf("Error.Attempts %d, fn ran %d times", rerr.Attempts, calls)
		}
		switch {
		case errors.Is(err, retry.ErrAttempts):
			if calls != cfg.MaxAttempts {
				t.Fatalf("ErrAttempts after %d of %d attempts", calls, cfg.MaxAttempts)
			}
		case errors.Is(err, retry.ErrMaxElapsed):
			if cfg.MaxElapsed == 0 {
				t.Fatal("ErrMaxElapsed without MaxElapsed")
			}
		case errors.Is(err, context.DeadlineExceeded):
			if deadline.IsZero() {
				t.Fatal("DeadlineExceeded without a deadline")
			}
		default:
			t.Fatalf("unexpected reason: %v", err)
		}
	})
}

// TestPropertyBudget checks that at 100% failure the attempts per call
// stay within 1 + Ratio, plus what MaxSaved and the per-second floor add.
func TestPropertyBudget(t *testing.T) {
	checkInBubble(t, func(t *rapid.T) {
		bcfg := retry.BudgetConfig{
			Ratio:        rapid.Float64Range(0.001, 1).Draw(t, "ratio"),
			MinPerSecond: rapid.Float64Range(0.1, 20).Draw(t, "minPerSecond"),
			MaxSaved:     rapid.IntRange(1, 50).Draw(t, "maxSaved"),
		}
		b := retry.NewBudget(bcfg)
		delay := drawDuration(t, "delay", 0, 50*time.Millisecond)
		p := retry.New(retry.Config{
			MaxAttempts: rapid.IntRange(2, 10).Draw(t, "maxAttempts"),
			Budget:      b,
			DelayFunc:   func(int, error) time.Duration { return delay },
		})
		calls := rapid.IntRange(1, 200).Draw(t, "calls")
		gap := drawDuration(t, "gap", 0, 50*time.Millisecond)
		start := time.Now()
		attempts := 0
		for range calls {
			_, _ = retry.Do(context.Background(), p, func(context.Context) (int, error) {
				attempts++
				return 0, errBoom
			})
			time.Sleep(gap)
		}
		seconds := time.Since(start).Seconds()
		floor := max(1, bcfg.MinPerSecond) + bcfg.MinPerSecond*seconds
		bound := float64(calls)*(1+bcfg.Ratio) + float64(bcfg.MaxSaved) + floor
		if float64(attempts) > bound {
			t.Fatalf("%d attempts for %d calls exceed the budget's bound %.1f", attempts, calls, bound)
		}
	})
}
