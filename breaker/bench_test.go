package breaker_test

import (
	"context"
	"errors"
	"fmt"
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

// BenchmarkDoClosedWithFailures fails one call in a hundred, so the window
// always holds failures and every call takes the locked path: the cost of
// a closed breaker whose dependency is not perfectly healthy.
func BenchmarkDoClosedWithFailures(b *testing.B) {
	br := breaker.New(breaker.Config{})
	ctx := context.Background()
	boom := errors.New("boom")
	i := 0
	fn := func(context.Context) (int, error) {
		i++
		if i%100 == 0 {
			return 0, boom
		}
		return 1, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = breaker.Do(ctx, br, fn)
	}
	if s := br.Stats(); s.State != breaker.StateClosed {
		b.Fatalf("a 1%% failure rate tripped the breaker: %+v", s)
	}
}

// BenchmarkAllowDone is the two-step form middleware uses.
func BenchmarkAllowDone(b *testing.B) {
	br := breaker.New(breaker.Config{})
	b.ReportAllocs()
	for b.Loop() {
		p, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		p.Done(nil)
	}
}

// BenchmarkGroupGet looks up an existing breaker by name.
func BenchmarkGroupGet(b *testing.B) {
	g := breaker.NewGroup(breaker.GroupConfig{})
	for i := range 100 {
		_, _ = g.Get(fmt.Sprint("host-", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Get("host-42"); err != nil {
			b.Fatal(err)
		}
	}
}
