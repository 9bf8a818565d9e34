package retry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/distkit/distkit/retry"
)

// BenchmarkRetryFirstSuccess measures a call that succeeds at once
// through a reused policy: the cost every successful call pays.
func BenchmarkRetryFirstSuccess(b *testing.B) {
	firstSuccess(b, retry.New(retry.Config{}))
}

func BenchmarkRetryFirstSuccessWithBudget(b *testing.B) {
	firstSuccess(b, retry.New(retry.Config{Budget: retry.NewBudget(retry.BudgetConfig{})}))
}

func firstSuccess(b *testing.B, p *retry.Policy) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := retry.Do(ctx, p, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRetryFirstSuccessParallel(b *testing.B) {
	p := retry.New(retry.Config{Budget: retry.NewBudget(retry.BudgetConfig{})})
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := retry.Do(ctx, p, fn); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRetryTwoAttempts measures the failure path: one failure, no
// delay, then success.
func BenchmarkRetryTwoAttempts(b *testing.B) {
	p := retry.New(retry.Config{Backoff: retry.Constant, InitialDelay: 1, Jitter: retry.JitterNone})
	ctx := context.Background()
	errFlaky := errors.New("flaky")
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		_, err := retry.Do(ctx, p, func(context.Context) (int, error) {
			n++
			if n == 1 {
				return 0, errFlaky
			}
			return n, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
