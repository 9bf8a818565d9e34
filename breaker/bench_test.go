package breaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/distkit/distkit/breaker"
)

func succeed(context.Context) (int, error) { return 1, nil }

// BenchmarkDoClosed is the closed success path of a count window: no clock
// read, no shared write.
func BenchmarkDoClosed(b *testing.B) {
	br := breaker.New(breaker.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := breaker.Do(ctx, br, succeed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoClosedParallel runs the closed success path from every P.
func BenchmarkDoClosedParallel(b *testing.B) {
	br := breaker.New(breaker.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := breaker.Do(ctx, br, succeed); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDoOpen is the rejection path of an open breaker.
func BenchmarkDoOpen(b *testing.B) {
	br := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Hour})
	ctx := context.Background()
	boom := errors.New("boom")
	_, _ = breaker.Do(ctx, br, func(context.Context) (int, error) { return 0, boom })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := breaker.Do(ctx, br, succeed); err == nil {
			b.Fatal("open breaker admitted a call")
		}
	}
}

// BenchmarkDoClosedTimeWindow is the closed success path of a time window:
// one clock read and one atomic add per call.
func BenchmarkDoClosedTimeWindow(b *testing.B) {
	br := breaker.New(breaker.Config{WindowDuration: 10 * time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := breaker.Do(ctx, br, succeed); err != nil {
			b.Fatal(err)
		}
	}
}
