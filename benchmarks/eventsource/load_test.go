package eventsourcebench

import (
	"context"
	"testing"

	"github.com/distkit/distkit/eventsource"
	"github.com/hallgren/eventsourcing"
	hmemory "github.com/hallgren/eventsourcing/eventstore/memory"
)

// The aggregate-load workload: a cart whose stream holds 1,000 ItemAdded
// events, encoded as JSON by both libraries, loaded without a snapshot.
const cartEvents = 1000

type ItemAdded struct {
	SKU      int
	Quantity int
	Cents    int
}

type cartState struct {
	Items int
	Total int
}

// hallgrenCart is the same aggregate for hallgren/eventsourcing, which
// requires an embedded AggregateRoot and pointer events.
type hallgrenCart struct {
	eventsourcing.AggregateRoot
	cartState
}

func (c *hallgrenCart) Transition(ev eventsourcing.Event) {
	if e, ok := ev.Data().(*ItemAdded); ok {
		c.Items++
		c.Total += e.Quantity * e.Cents
	}
}

func (c *hallgrenCart) Register(r eventsourcing.RegisterFunc) { r(&ItemAdded{}) }

func BenchmarkLoadAggregate1000(b *testing.B) {
	ctx := context.Background()

	b.Run("distkit", func(b *testing.B) {
		codec := &eventsource.Codec{}
		eventsource.RegisterJSON[ItemAdded](codec, "ItemAdded")
		repo := eventsource.NewRepository(eventsource.RepositoryConfig[cartState]{
			Store: eventsource.NewMemoryStore(eventsource.MemoryConfig{}),
			Codec: codec,
			Apply: func(c *cartState, ev any) error {
				e := ev.(ItemAdded)
				c.Items++
				c.Total += e.Quantity * e.Cents
				return nil
			},
		})
		_, err := repo.Update(ctx, "cart-1", func(a *eventsource.Aggregate[cartState]) error {
			for i := range cartEvents {
				if err := a.Record(ItemAdded{SKU: i, Quantity: 2, Cents: 150}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			a, err := repo.Load(ctx, "cart-1")
			if err != nil || a.State.Items != cartEvents {
				b.Fatalf("load: %v, %+v", err, a)
			}
		}
	})

	b.Run("hallgren", func(b *testing.B) {
		repo := eventsourcing.NewEventRepository(hmemory.Create())
		repo.Register(&hallgrenCart{})
		cart := &hallgrenCart{}
		if err := cart.SetID("cart-1"); err != nil {
			b.Fatal(err)
		}
		for i := range cartEvents {
			cart.TrackChange(cart, &ItemAdded{SKU: i, Quantity: 2, Cents: 150})
		}
		if err := repo.Save(cart); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			loaded := &hallgrenCart{}
			if err := repo.GetWithContext(ctx, "cart-1", loaded); err != nil || loaded.Items != cartEvents {
				b.Fatalf("load: %v, %+v", err, loaded.cartState)
			}
		}
	})
}
