package eventsource

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// benchStreams is how many streams the append benchmarks spread over.
const benchStreams = 1000

// benchIDs returns n distinct event ids; the append benchmarks pair id k
// with every stream, so (stream, id) never repeats within b.N appends.
func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "ev-" + strconv.Itoa(i)
	}
	return ids
}

func benchStreamNames() []string {
	names := make([]string, benchStreams)
	for i := range names {
		names[i] = "order-" + strconv.Itoa(i)
	}
	return names
}

// BenchmarkMemoryAppend measures one single-event append with an event ID
// and an exact expected version, round-robin over 1,000 streams.
func BenchmarkMemoryAppend(b *testing.B) {
	ctx := context.Background()
	store := NewMemoryStore(MemoryConfig{})
	defer store.Close()
	streams, ids := benchStreamNames(), benchIDs(1<<16)
	versions := make([]uint64, benchStreams)
	ev := EventData{Type: "ItemAdded", Data: make([]byte, 64)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := i % benchStreams
		ev.ID = ids[(i/benchStreams)%len(ids)]
		res, err := store.Append(ctx, streams[s], Exact(versions[s]), ev)
		if err != nil {
			b.Fatal(err)
		}
		versions[s] = res.Version
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
}

// benchFileAppend measures single-event appends acknowledged under the
// default SyncAlways policy (fsynced) by appenders concurrent goroutines,
// each on its own stream.
func benchFileAppend(b *testing.B, appenders int) {
	store, err := OpenFileStore(FileConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	var next atomic.Int64
	data := make([]byte, 64)
	b.ReportAllocs()
	b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		stream := "order-" + strconv.FormatInt(next.Add(1), 10)
		var version uint64
		for pb.Next() {
			res, err := store.Append(ctx, stream, Exact(version), EventData{Type: "ItemAdded", Data: data})
			if err != nil {
				b.Error(err)
				return
			}
			version = res.Version
		}
	})
	b.StopTimer()
	st := store.Stats()
	b.ReportMetric(float64(st.Events)/b.Elapsed().Seconds(), "events/s")
	if st.Syncs > 0 {
		b.ReportMetric(float64(st.Events)/float64(st.Syncs), "events/fsync")
	}
}

// BenchmarkFileAppendDurable: 64 concurrent appenders sharing fsyncs.
func BenchmarkFileAppendDurable(b *testing.B) { benchFileAppend(b, 64) }

// BenchmarkFileAppendDurableSerial: one appender, one fsync per append.
func BenchmarkFileAppendDurableSerial(b *testing.B) {
	store, err := OpenFileStore(FileConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	ev := EventData{Type: "ItemAdded", Data: make([]byte, 64)}
	var version uint64
	b.ReportAllocs()
	for b.Loop() {
		res, err := store.Append(ctx, "order", Exact(version), ev)
		if err != nil {
			b.Fatal(err)
		}
		version = res.Version
	}
	b.ReportMetric(float64(version)/b.Elapsed().Seconds(), "events/s")
}

// fillStore appends n events of 64 bytes spread over streams.
func fillStore(b *testing.B, store Store, n, streams int) {
	ctx := context.Background()
	ev := EventData{Type: "ItemAdded", Data: make([]byte, 64)}
	names := benchStreamNames()
	for i := range n {
		if _, err := store.Append(ctx, names[i%streams], Any, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadAll measures reading the global log; one op reads 10,000
// events.
func BenchmarkReadAll(b *testing.B) {
	const events = 10000
	store := NewMemoryStore(MemoryConfig{})
	defer store.Close()
	fillStore(b, store, events, 100)
	ctx := context.Background()
	b.ReportAllocs()
	var sum uint64
	for b.Loop() {
		for ev, err := range store.ReadAll(ctx, 0) {
			if err != nil {
				b.Fatal(err)
			}
			sum += ev.Version
		}
	}
	if sum == 0 {
		b.Fatal("read nothing")
	}
	b.ReportMetric(float64(b.N)*events/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSubscribeLatency measures the time from the start of an append
// to a caught-up subscriber holding the event.
func BenchmarkSubscribeLatency(b *testing.B) {
	store := NewMemoryStore(MemoryConfig{})
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan uint64, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range store.Subscribe(ctx, 0) {
			if err != nil {
				return
			}
			got <- ev.Position
		}
	}()
	ev := EventData{Type: "ItemAdded", Data: make([]byte, 64)}
	b.ReportAllocs()
	for b.Loop() {
		res, err := store.Append(ctx, "order", Any, ev)
		if err != nil {
			b.Fatal(err)
		}
		if pos := <-got; pos != res.Position {
			b.Fatalf("subscriber got %d, want %d", pos, res.Position)
		}
	}
	b.StopTimer()
	cancel()
	<-done
}

// Events of the aggregate benchmark, with a compact binary encoding.
type benchItemAdded struct {
	SKU      uint64
	Quantity uint64
	Cents    uint64
}

type benchCart struct {
	Items int
	Total uint64
}

func applyCart(c *benchCart, ev any) error {
	e, ok := ev.(benchItemAdded)
	if !ok {
		return errors.New("unexpected event")
	}
	c.Items++
	c.Total += e.Quantity * e.Cents
	return nil
}

func binaryCartCodec() *Codec {
	c := &Codec{}
	Register(c, "ItemAdded",
		func(e benchItemAdded) ([]byte, error) {
			b := binary.AppendUvarint(nil, e.SKU)
			b = binary.AppendUvarint(b, e.Quantity)
			return binary.AppendUvarint(b, e.Cents), nil
		},
		func(b []byte) (benchItemAdded, error) {
			var e benchItemAdded
			var n int
			for _, p := range []*uint64{&e.SKU, &e.Quantity, &e.Cents} {
				*p, n = binary.Uvarint(b)
				if n <= 0 {
					return e, errors.New("bad ItemAdded")
				}
				b = b[n:]
			}
			return e, nil
		})
	return c
}

func jsonCartCodec() *Codec {
	c := &Codec{}
	RegisterJSON[benchItemAdded](c, "ItemAdded")
	return c
}

// BenchmarkLoadAggregate1000 measures loading an aggregate from a stream of
// 1,000 events, without a snapshot: read, decode and apply every event.
func BenchmarkLoadAggregate1000(b *testing.B) {
	for _, tc := range []struct {
		name  string
		codec *Codec
	}{{"binary", binaryCartCodec()}, {"json", jsonCartCodec()}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			store := NewMemoryStore(MemoryConfig{})
			defer store.Close()
			repo := NewRepository(RepositoryConfig[benchCart]{Store: store, Codec: tc.codec, Apply: applyCart})
			for i := range 10 {
				_, err := repo.Update(ctx, "cart", func(a *Aggregate[benchCart]) error {
					for k := range 100 {
						if err := a.Record(benchItemAdded{SKU: uint64(i*100 + k), Quantity: 2, Cents: 150}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				a, err := repo.Load(ctx, "cart")
				if err != nil {
					b.Fatal(err)
				}
				if a.Version != 1000 || a.State.Items != 1000 {
					b.Fatal(fmt.Sprintf("loaded %+v at %d", a.State, a.Version))
				}
			}
		})
	}
}
