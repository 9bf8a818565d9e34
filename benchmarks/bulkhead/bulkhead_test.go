// Package bulkheadbench compares distkit's bulkhead with its peers on the
// same workload: taking and returning a permit that is free.
package bulkheadbench

import (
	"context"
	"testing"

	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"golang.org/x/sync/semaphore"

	"github.com/distkit/distkit/bulkhead"
)

const limit = 8

// BenchmarkBulkheadAcquireRelease takes and returns a permit of a
// bulkhead that admits 8 calls, from one goroutine: the uncontended cost
// every protected call pays.
func BenchmarkBulkheadAcquireRelease(b *testing.B) {
	ctx := context.Background()
	b.Run("distkit", func(b *testing.B) {
		bh := bulkhead.New(bulkhead.Config{MaxConcurrent: limit})
		b.ReportAllocs()
		for b.Loop() {
			p, err := bh.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.Release()
		}
	})
	b.Run("semaphore", func(b *testing.B) {
		sem := semaphore.NewWeighted(limit)
		b.ReportAllocs()
		for b.Loop() {
			if err := sem.Acquire(ctx, 1); err != nil {
				b.Fatal(err)
			}
			sem.Release(1)
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		bh := fsbulkhead.New[int](limit)
		b.ReportAllocs()
		for b.Loop() {
			if err := bh.AcquirePermit(ctx); err != nil {
				b.Fatal(err)
			}
			bh.ReleasePermit()
		}
	})
}

// BenchmarkBulkheadAcquireReleaseParallel does the same from every
// benchmark goroutine at once, with a limit above their number.
func BenchmarkBulkheadAcquireReleaseParallel(b *testing.B) {
	b.Run("distkit", func(b *testing.B) {
		bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1 << 20})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				p, err := bh.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				p.Release()
			}
		})
	})
	b.Run("semaphore", func(b *testing.B) {
		sem := semaphore.NewWeighted(1 << 20)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if err := sem.Acquire(ctx, 1); err != nil {
					b.Error(err)
					return
				}
				sem.Release(1)
			}
		})
	})
	b.Run("failsafe", func(b *testing.B) {
		bh := fsbulkhead.New[int](1 << 20)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if err := bh.AcquirePermit(ctx); err != nil {
					b.Error(err)
					return
				}
				bh.ReleasePermit()
			}
		})
	})
}
