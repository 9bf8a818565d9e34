package wal

import (
	"context"
	"runtime"
	"testing"
)

var benchRecord = make([]byte, 100)

func openBench(b *testing.B, opts Options) *Log {
	b.Helper()
	opts.Dir = b.TempDir()
	l, err := Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	})
	return l
}

// reportSyncs reports fsyncs per append and appends per second.
func reportSyncs(b *testing.B, l *Log, before Stats) {
	s := l.Stats()
	appends := float64(s.Appends - before.Appends)
	if appends > 0 {
		b.ReportMetric(float64(s.Syncs-before.Syncs)/appends, "fsyncs/append")
		b.ReportMetric(appends/b.Elapsed().Seconds(), "appends/s")
	}
	if syncs := s.Syncs - before.Syncs; syncs > 0 {
		b.ReportMetric(float64((s.SyncTime-before.SyncTime).Microseconds())/float64(syncs), "µs/fsync")
	}
}

// BenchmarkAppendDurableParallel is one durable 100-byte append per op from
// 64 concurrent appenders (SetParallelism scales GOMAXPROCS): group commit.
func BenchmarkAppendDurableParallel(b *testing.B) {
	l := openBench(b, Options{})
	ctx := context.Background()
	before := l.Stats()
	b.ReportAllocs()
	b.SetParallelism(64 / max(1, runtimeProcs()))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(ctx, benchRecord); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportSyncs(b, l, before)
}

// BenchmarkAppendDurableSerial is one durable append at a time: bounded by
// fsync latency.
func BenchmarkAppendDurableSerial(b *testing.B) {
	l := openBench(b, Options{})
	ctx := context.Background()
	before := l.Stats()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(ctx, benchRecord); err != nil {
			b.Fatal(err)
		}
	}
	reportSyncs(b, l, before)
}

// BenchmarkAppendSyncNever is the cost of an append without fsync.
func BenchmarkAppendSyncNever(b *testing.B) {
	l := openBench(b, Options{Sync: SyncNever})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(ctx, benchRecord); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordsScan reads 10,000 records per op.
func BenchmarkRecordsScan(b *testing.B) {
	l := openBench(b, Options{Sync: SyncNever})
	ctx := context.Background()
	batch := make([][]byte, 100)
	for i := range batch {
		batch[i] = benchRecord
	}
	for range 100 {
		if _, err := l.Append(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, err := range l.Records(1) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
