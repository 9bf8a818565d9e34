// Package eventsourcebench compares distkit's eventsource with the Go event
// stores looplab/eventhorizon and hallgren/eventsourcing on the same
// workload: single-event appends, each with a 64-byte payload and the
// stream's current version as the expected version, round-robin over 1,000
// streams, into each library's in-memory store.
package eventsourcebench

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/distkit/distkit/eventsource"
	hcore "github.com/hallgren/eventsourcing/core"
	hmemory "github.com/hallgren/eventsourcing/eventstore/memory"
	eh "github.com/looplab/eventhorizon"
	ehmemory "github.com/looplab/eventhorizon/eventstore/memory"
	"github.com/looplab/eventhorizon/uuid"
)

const streams = 1000

// itemAdded is eventhorizon's event data: its memory store copies data
// through a type registered by name.
type itemAdded struct{ Payload []byte }

const itemAddedType eh.EventType = "ItemAdded"

func init() {
	eh.RegisterEventData(itemAddedType, func() eh.EventData { return &itemAdded{} })
}

func BenchmarkMemoryAppend(b *testing.B) {
	payload := make([]byte, 64)
	ctx := context.Background()

	b.Run("distkit", func(b *testing.B) {
		store := eventsource.NewMemoryStore(eventsource.MemoryConfig{})
		defer store.Close()
		names := make([]string, streams)
		for i := range names {
			names[i] = "order-" + strconv.Itoa(i)
		}
		versions := make([]uint64, streams)
		ev := eventsource.EventData{Type: "ItemAdded", Data: payload}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s := i % streams
			res, err := store.Append(ctx, names[s], eventsource.Exact(versions[s]), ev)
			if err != nil {
				b.Fatal(err)
			}
			versions[s] = res.Version
			i++
		}
	})

	b.Run("eventhorizon", func(b *testing.B) {
		store, err := ehmemory.NewEventStore()
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]uuid.UUID, streams)
		for i := range ids {
			ids[i] = uuid.New()
		}
		versions := make([]int, streams)
		data := &itemAdded{Payload: payload}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s := i % streams
			ev := eh.NewEvent(itemAddedType, data, time.Now(), eh.ForAggregate("Order", ids[s], versions[s]+1))
			if err := store.Save(ctx, []eh.Event{ev}, versions[s]); err != nil {
				b.Fatal(err)
			}
			versions[s]++
			i++
		}
	})

	b.Run("hallgren", func(b *testing.B) {
		store := hmemory.Create()
		ids := make([]string, streams)
		for i := range ids {
			ids[i] = "order-" + strconv.Itoa(i)
		}
		versions := make([]hcore.Version, streams)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s := i % streams
			ev := hcore.Event{AggregateID: ids[s], AggregateType: "Order", Version: versions[s] + 1,
				Timestamp: time.Now(), Reason: "ItemAdded", Data: payload}
			if err := store.Save([]hcore.Event{ev}); err != nil {
				b.Fatal(err)
			}
			versions[s]++
			i++
		}
	})
}
