package bulkhead_test

import (
	"context"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/distkit/distkit/bulkhead"
)

// BenchmarkBulkheadUncontended takes and returns a free permit from one
// goroutine: the cost every admitted call pays.
func BenchmarkBulkheadUncontended(b *testing.B) {
	acquireRelease(b, bulkhead.New(bulkhead.Config{MaxConcurrent: 8}))
}

func acquireRelease(b *testing.B, bh *bulkhead.Bulkhead) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := bh.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p.Release()
	}
}

// BenchmarkSemaphoreUncontended is the same workload on x/sync's weighted
// semaphore, the bar BenchmarkBulkheadUncontended must meet.
func BenchmarkSemaphoreUncontended(b *testing.B) {
	sem := semaphore.NewWeighted(8)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := sem.Acquire(ctx, 1); err != nil {
			b.Fatal(err)
		}
		sem.Release(1)
	}
}

func BenchmarkBulkheadDo(b *testing.B) {
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 8})
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bulkhead.Do(ctx, bh, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBulkheadParallel has every benchmark goroutine take and return
// permits of one bulkhead whose limit is below the goroutine count, so
// callers queue and hand permits to each other.
func BenchmarkBulkheadParallel(b *testing.B) {
	for _, tc := range []struct {
		name  string
		limit int
	}{{"limit=1", 1}, {"limit=1000", 1000}} {
		b.Run(tc.name, func(b *testing.B) {
			bh := bulkhead.New(bulkhead.Config{MaxConcurrent: tc.limit, MaxQueued: 1 << 20})
			b.ReportAllocs()
			b.SetParallelism(4)
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
	}
}

func BenchmarkBulkheadAdaptive(b *testing.B) {
	for _, alg := range []bulkhead.Algorithm{bulkhead.AIMD, bulkhead.Gradient} {
		b.Run(map[bulkhead.Algorithm]string{bulkhead.AIMD: "aimd", bulkhead.Gradient: "gradient"}[alg], func(b *testing.B) {
			acquireRelease(b, bulkhead.New(bulkhead.Config{MaxConcurrent: 8, Adaptive: bulkhead.Adaptive{Algorithm: alg}}))
		})
	}
}
