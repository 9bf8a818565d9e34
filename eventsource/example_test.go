package eventsource_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/distkit/distkit/eventsource"
)

// A stream per order; appends check the version the writer last saw.
func Example() {
	ctx := context.Background()
	store := eventsource.NewMemoryStore(eventsource.MemoryConfig{})
	defer store.Close()

	res, err := store.Append(ctx, "order-1", eventsource.NoStream,
		eventsource.EventData{ID: "e1", Type: "OrderPlaced", Data: []byte(`{"total":30}`)},
		eventsource.EventData{ID: "e2", Type: "OrderPaid", Data: []byte(`{"amount":30}`)})
	if err != nil {
		panic(err)
	}
	_, err = store.Append(ctx, "order-1", eventsource.Exact(res.Version),
		eventsource.EventData{ID: "e3", Type: "OrderShipped"})
	if err != nil {
		panic(err)
	}
	for ev, err := range store.ReadStream(ctx, "order-1", 0, eventsource.Forward) {
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.Version, ev.Type, string(ev.Data))
	}
	// Output:
	// 1 OrderPlaced {"total":30}
	// 2 OrderPaid {"amount":30}
	// 3 OrderShipped
}

// Two writers loaded the stream at version 1; the second one to append
// learns that it must reload.
func ExampleConflictError() {
	ctx := context.Background()
	store := eventsource.NewMemoryStore(eventsource.MemoryConfig{})
	defer store.Close()
	_, _ = store.Append(ctx, "cart-7", eventsource.NoStream, eventsource.EventData{Type: "CartOpened"})

	_, err := store.Append(ctx, "cart-7", eventsource.Exact(1), eventsource.EventData{Type: "ItemAdded"})
	fmt.Println("first writer:", err)
	_, err = store.Append(ctx, "cart-7", eventsource.Exact(1), eventsource.EventData{Type: "CartEmptied"})
	var conflict *eventsource.ConflictError
	if errors.As(err, &conflict) {
		fmt.Println("second writer: expected", conflict.Expected, "but the stream is at", conflict.Actual)
	}
	fmt.Println(errors.Is(err, eventsource.ErrVersionConflict))
	// Output:
	// first writer: <nil>
	// second writer: expected version 1 but the stream is at 2
	// true
}

// An append whose reply was lost is repeated with the same IDs and
// expected version; the store recognises it and writes nothing twice.
func ExampleStore_retry() {
	ctx := context.Background()
	store := eventsource.NewMemoryStore(eventsource.MemoryConfig{})
	defer store.Close()
	ev := eventsource.EventData{ID: eventsource.NewID(), Type: "PaymentCaptured"}

	first, _ := store.Append(ctx, "payment-3", eventsource.NoStream, ev)
	again, err := store.Append(ctx, "payment-3", eventsource.NoStream, ev)
	fmt.Println(err, again.Deduplicated, again.Version == first.Version, store.Version("payment-3"))
	// Output:
	// <nil> true true 1
}

// A subscription catches up from a position and then follows new events.
func ExampleMemoryStore_Subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := eventsource.NewMemoryStore(eventsource.MemoryConfig{})
	defer store.Close()
	for _, stream := range []string{"a", "b", "a"} {
		_, _ = store.Append(ctx, stream, eventsource.Any, eventsource.EventData{Type: "Touched"})
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range store.Subscribe(ctx, 2) {
			if err != nil {
				return
			}
			fmt.Println(ev.Position, ev.Stream, ev.Version)
			if ev.Position == 4 {
				return // a projection would save ev.Position and resume at ev.Position+1
			}
		}
	}()
	_, _ = store.Append(ctx, "b", eventsource.Any, eventsource.EventData{Type: "Touched"})
	<-done
	// Output:
	// 2 b 1
	// 3 a 2
	// 4 b 2
}

// A file store keeps its events across restarts.
func ExampleOpenFileStore() {
	dir, err := os.MkdirTemp("", "events")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := eventsource.OpenFileStore(eventsource.FileConfig{Dir: dir})
	if err != nil {
		panic(err)
	}
	// Returns once the event is fsynced (SyncAlways is the default).
	_, err = store.Append(ctx, "invoice-9", eventsource.NoStream, eventsource.EventData{Type: "InvoiceIssued"})
	if err != nil {
		panic(err)
	}
	if err := store.Close(); err != nil {
		panic(err)
	}

	store, err = eventsource.OpenFileStore(eventsource.FileConfig{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	for ev, err := range store.ReadAll(ctx, 0) {
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.Position, ev.Stream, ev.Type)
	}
	// Output:
	// 1 invoice-9 InvoiceIssued
}

type Account struct {
	Balance int
}

type Deposited struct{ Amount int }
type Withdrawn struct{ Amount int }

var errInsufficient = errors.New("insufficient funds")

func applyAccount(a *Account, event any) error {
	switch e := event.(type) {
	case Deposited:
		a.Balance += e.Amount
	case Withdrawn:
		a.Balance -= e.Amount
	default:
		return fmt.Errorf("unknown event %T", event)
	}
	return nil
}

// An aggregate is rebuilt from its events; Update loads it, runs the
// command and saves the recorded events, retrying on conflicts.
func ExampleRepository() {
	ctx := context.Background()
	codec := &eventsource.Codec{}
	eventsource.RegisterJSON[Deposited](codec, "Deposited")
	eventsource.RegisterJSON[Withdrawn](codec, "Withdrawn")
	repo := eventsource.NewRepository(eventsource.RepositoryConfig[Account]{
		Store:         eventsource.NewMemoryStore(eventsource.MemoryConfig{}),
		Codec:         codec,
		Apply:         applyAccount,
		Snapshots:     &eventsource.MemorySnapshots{},
		SnapshotEvery: 2,
	})

	withdraw := func(amount int) func(*eventsource.Aggregate[Account]) error {
		return func(acc *eventsource.Aggregate[Account]) error {
			if acc.State.Balance < amount {
				return errInsufficient
			}
			return acc.Record(Withdrawn{Amount: amount})
		}
	}
	_, _ = repo.Update(ctx, "account-1", func(acc *eventsource.Aggregate[Account]) error {
		return acc.Record(Deposited{Amount: 100})
	})
	_, _ = repo.Update(ctx, "account-1", withdraw(30))
	_, err := repo.Update(ctx, "account-1", withdraw(500))
	fmt.Println(err)

	acc, _ := repo.Load(ctx, "account-1")
	fmt.Println(acc.Version, acc.State.Balance)
	// Output:
	// insufficient funds
	// 2 70
}

// Events written under an old schema are rewritten as they are read.
func ExampleCodec_AddUpcaster() {
	type DepositedV1 struct{ Cents int }
	codec := &eventsource.Codec{}
	eventsource.RegisterJSON[Deposited](codec, "Deposited")
	codec.AddUpcaster("Deposited.v1", func(ev eventsource.Event) (eventsource.Event, error) {
		var old DepositedV1
		if err := json.Unmarshal(ev.Data, &old); err != nil {
			return ev, err
		}
		data, err := json.Marshal(Deposited{Amount: old.Cents / 100})
		ev.Type, ev.Data = "Deposited", data
		return ev, err
	})

	v, err := codec.Decode(eventsource.Event{Type: "Deposited.v1", Data: []byte(`{"Cents":2500}`)})
	fmt.Printf("%#v %v\n", v, err)
	// Output:
	// eventsource_test.Deposited{Amount:25} <nil>
}
