// Package retrybench compares distkit's retry package with its peers on
// the same workloads: a call that succeeds at the first attempt, bare and
// inside a closed circuit breaker. Every retrier is built once and reused,
// as a service would, with three attempts at most.
package retrybench

import (
	"context"
	"testing"

	retrygo "github.com/avast/retry-go/v5"
	"github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/sony/gobreaker/v2"

	"github.com/distkit/distkit/breaker"
	"github.com/distkit/distkit/retry"
)

// The protected call of every case: succeed with a value.
func work() (int, error)                   { return 1, nil }
func workCtx(context.Context) (int, error) { return 1, nil }

const attempts = 3

// BenchmarkRetryFirstSuccess measures a call that succeeds the first time
// through a reused retry policy.
func BenchmarkRetryFirstSuccess(b *testing.B) {
	ctx := context.Background()
	b.Run("distkit", func(b *testing.B) {
		p := retry.New(retry.Config{MaxAttempts: attempts})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := retry.Do(ctx, p, workCtx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		exec := failsafe.With[int](retrypolicy.NewBuilder[int]().WithMaxAttempts(attempts).Build()).WithContext(ctx)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := exec.Get(work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("backoff", func(b *testing.B) {
		opts := []backoff.RetryOption{backoff.WithMaxTries(attempts)}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := backoff.Retry(ctx, work, opts...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("retrygo", func(b *testing.B) {
		r := retrygo.NewWithData[int](retrygo.Attempts(attempts), retrygo.Context(ctx))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Do(work); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRetryAroundBreaker measures a successful call through a retry
// policy wrapping a closed circuit breaker, the usual composition for a
// remote dependency.
func BenchmarkRetryAroundBreaker(b *testing.B) {
	ctx := context.Background()
	b.Run("distkit", func(b *testing.B) {
		p := retry.New(retry.Config{MaxAttempts: attempts})
		br := breaker.New(breaker.Config{})
		call := func(ctx context.Context) (int, error) { return breaker.Do(ctx, br, workCtx) }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := retry.Do(ctx, p, call); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		exec := failsafe.With[int](
			retrypolicy.NewBuilder[int]().WithMaxAttempts(attempts).Build(),
			circuitbreaker.NewWithDefaults[int](),
		).WithContext(ctx)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := exec.Get(work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("retrygo_gobreaker", func(b *testing.B) {
		r := retrygo.NewWithData[int](retrygo.Attempts(attempts), retrygo.Context(ctx))
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{})
		call := func() (int, error) { return cb.Execute(work) }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Do(call); err != nil {
				b.Fatal(err)
			}
		}
	})
}
