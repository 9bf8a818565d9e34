package discovery

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time this process has used. Benchmarks report it
// per op next to wall time because the machines they run on are often
// shared: wall time then includes time spent waiting for a CPU, CPU time
// does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ns/op metric for the ops run since start.
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

// benchRegistry returns a registry with one service of n instances.
func benchRegistry(b *testing.B, n int) (*Registry, []Lease) {
	b.Helper()
	r := New(Config{})
	b.Cleanup(func() { _ = r.Close() })
	leases := make([]Lease, n)
	for i := range n {
		l, err := r.Register(context.Background(), Registration{
			Instance: Instance{Service: "api", ID: fmt.Sprintf("i%05d", i), Address: fmt.Sprintf("10.0.%d.%d:80", i/256, i%256)},
			TTL:      time.Hour,
		})
		if err != nil {
			b.Fatal(err)
		}
		leases[i] = l
	}
	return r, leases
}

// BenchmarkLookup measures reading a service's instances. Target: <= 100 ns,
// 0 allocs.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			r, _ := benchRegistry(b, n)
			for range 100 { // other services in the map
				_, _ = r.Register(context.Background(), Registration{Instance: inst(fmt.Sprintf("svc%d", len(r.Services())), "x"), TTL: time.Hour})
			}
			b.ReportAllocs()
			var sink int
			start := cpuTime()
			for b.Loop() {
				sink += len(r.Lookup("api").Routable)
			}
			reportCPU(b, start)
			_ = sink
		})
	}
}

// BenchmarkResolveParallel measures Resolve from all CPUs at once: reads
// take no lock.
func BenchmarkResolveParallel(b *testing.B) {
	r, _ := benchRegistry(b, 10)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if got, _ := r.Resolve(ctx, "api"); len(got) != 10 {
				b.Error("wrong answer")
			}
		}
	})
}

// BenchmarkHeartbeat measures a heartbeat that changes nothing visible: the
// common write, which publishes nothing and wakes nobody.
func BenchmarkHeartbeat(b *testing.B) {
	r, leases := benchRegistry(b, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	start := cpuTime()
	for b.Loop() {
		if err := r.Heartbeat(ctx, leases[i%len(leases)], StatusPassing); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, start)
}

// BenchmarkStatusChange measures a visible change (a status flip) on a
// service of n instances: one new published snapshot.
func BenchmarkStatusChange(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			r, leases := benchRegistry(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := r.Heartbeat(ctx, leases[0], Status(i%2)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkWatchFanout measures one change delivered to 10,000 watchers of
// the service: from the write until every watcher has received its event.
// Target: <= 20 ms.
func BenchmarkWatchFanout(b *testing.B) {
	const watchers = 10_000
	r, leases := benchRegistry(b, 10)
	ctx, cancel := context.WithCancel(context.Background())
	rev := r.Lookup("api").Revision
	var pending atomic.Int64
	allDone := make(chan struct{}, 1)
	var wg sync.WaitGroup
	ready := make(chan struct{}, watchers)
	for range watchers {
		wg.Go(func() {
			ready <- struct{}{}
			for _, err := range r.Watch(ctx, "api", rev) {
				if err != nil {
					return
				}
				if pending.Add(-1) == 0 {
					allDone <- struct{}{}
				}
			}
		})
	}
	for range watchers {
		<-ready
	}
	for r.Stats().Watchers < watchers {
		runtime.Gosched() // let every watcher reach the view before timing
	}
	b.ReportAllocs()
	status := StatusPassing
	start := cpuTime()
	for b.Loop() {
		status ^= 1 // passing <-> warning: a visible change every time
		pending.Store(watchers)
		if err := r.Heartbeat(ctx, leases[0], status); err != nil {
			b.Fatal(err)
		}
		<-allDone
	}
	reportCPU(b, start)
	b.StopTimer()
	cancel()
	wg.Wait()
}
