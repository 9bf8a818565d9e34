// Package breakerbench compares distkit's circuit breaker with its peers on
// the same workloads: a closed breaker passing a successful call, and an
// open breaker rejecting one.
package breakerbench

import (
	"context"
	"errors"
	"testing"
	"time"

	resiliency "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"

	"github.com/distkit/distkit/breaker"
)

var errBoom = errors.New("boom")

// The protected call of every case: succeed with a value.
func work() (int, error)                   { return 1, nil }
func workCtx(context.Context) (int, error) { return 1, nil }
func workErr() error                       { return nil }

// openFor is longer than any run, so an open breaker stays open.
const openFor = time.Hour

// BenchmarkBreakerClosed measures a successful call through a closed
// breaker with each library's default window and rules.
func BenchmarkBreakerClosed(b *testing.B) {
	ctx := context.Background()
	b.Run("distkit", func(b *testing.B) {
		br := breaker.New(breaker.Config{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := breaker.Do(ctx, br, workCtx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		exec := failsafe.With[int](circuitbreaker.NewWithDefaults[int]())
		b.ReportAllocs()
		for b.Loop() {
			if _, err := exec.Get(work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resiliency", func(b *testing.B) {
		cb := resiliency.New(5, 1, openFor)
		b.ReportAllocs()
		for b.Loop() {
			if err := cb.Run(workErr); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBreakerOpen measures the rejection of a call by a breaker that
// one failure has opened. The loop only checks that the call was rejected:
// matching the error (errors.Is) costs the caller a few nanoseconds more
// for distkit's *OpenError, which carries the wait, than for the bare
// sentinels the peers return; TestRejectionsAreTheirSentinels shows each
// library's rejection matches.
func BenchmarkBreakerOpen(b *testing.B) {
	ctx := context.Background()
	b.Run("distkit", func(b *testing.B) {
		br := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: openFor})
		_, _ = breaker.Do(ctx, br, func(context.Context) (int, error) { return 0, errBoom })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := breaker.Do(ctx, br, workCtx); err == nil {
				b.Fatal("an open breaker admitted a call")
			}
		}
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Timeout:     openFor,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		})
		_, _ = cb.Execute(func() (int, error) { return 0, errBoom })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(work); err == nil {
				b.Fatal("an open breaker admitted a call")
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		cb := circuitbreaker.NewBuilder[int]().WithFailureThreshold(1).WithDelay(openFor).Build()
		exec := failsafe.With[int](cb)
		_, _ = exec.Get(func() (int, error) { return 0, errBoom })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := exec.Get(work); err == nil {
				b.Fatal("an open breaker admitted a call")
			}
		}
	})
	b.Run("resiliency", func(b *testing.B) {
		cb := resiliency.New(1, 1, openFor)
		_ = cb.Run(func() error { return errBoom })
		b.ReportAllocs()
		for b.Loop() {
			if err := cb.Run(workErr); err == nil {
				b.Fatal("an open breaker admitted a call")
			}
		}
	})
}

// BenchmarkBreakerClosedTimeWindow measures a successful call through a
// closed breaker that keeps a rolling time window (10s in 1s buckets)
// behind a failure-rate rule.
func BenchmarkBreakerClosedTimeWindow(b *testing.B) {
	ctx := context.Background()
	b.Run("distkit", func(b *testing.B) {
		br := breaker.New(breaker.Config{WindowDuration: 10 * time.Second, WindowBuckets: 10, FailureRate: 50})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := breaker.Do(ctx, br, workCtx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Interval:     10 * time.Second,
			BucketPeriod: time.Second,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.Requests >= 10 && c.TotalFailures*2 >= c.Requests
			},
		})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		cb := circuitbreaker.NewBuilder[int]().WithFailureRateThreshold(0.5, 10, 10*time.Second).Build()
		exec := failsafe.With[int](cb)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := exec.Get(work); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBreakerClosedParallel is BenchmarkBreakerClosed from every P at
// once: the cost of contention on a shared breaker.
func BenchmarkBreakerClosedParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("distkit", func(b *testing.B) {
		br := breaker.New(breaker.Config{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = breaker.Do(ctx, br, workCtx)
			}
		})
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = cb.Execute(work)
			}
		})
	})
	b.Run("failsafe", func(b *testing.B) {
		exec := failsafe.With[int](circuitbreaker.NewWithDefaults[int]())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = exec.Get(work)
			}
		})
	})
	b.Run("resiliency", func(b *testing.B) {
		cb := resiliency.New(5, 1, openFor)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = cb.Run(workErr)
			}
		})
	})
}

// TestRejectionsAreTheirSentinels checks that each open breaker of
// BenchmarkBreakerOpen rejects with its library's open error, so the
// benchmark compares like with like.
func TestRejectionsAreTheirSentinels(t *testing.T) {
	ctx := context.Background()
	fail := func() (int, error) { return 0, errBoom }

	br := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: openFor})
	_, _ = breaker.Do(ctx, br, func(context.Context) (int, error) { return fail() })
	if _, err := breaker.Do(ctx, br, workCtx); !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("distkit: got %v, want ErrOpen", err)
	}

	gb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
		Timeout:     openFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
	})
	_, _ = gb.Execute(fail)
	if _, err := gb.Execute(work); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("gobreaker: got %v, want ErrOpenState", err)
	}

	exec := failsafe.With[int](circuitbreaker.NewBuilder[int]().WithFailureThreshold(1).WithDelay(openFor).Build())
	_, _ = exec.Get(fail)
	if _, err := exec.Get(work); !errors.Is(err, circuitbreaker.ErrOpen) {
		t.Errorf("failsafe: got %v, want ErrOpen", err)
	}

	rb := resiliency.New(1, 1, openFor)
	_ = rb.Run(func() error { return errBoom })
	if err := rb.Run(workErr); !errors.Is(err, resiliency.ErrBreakerOpen) {
		t.Errorf("resiliency: got %v, want ErrBreakerOpen", err)
	}
}
