package eventsource

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal/crashfs"
)

// subscriber collects what one subscription delivers.
type subscriber struct {
	from      uint64
	positions []uint64
	ids       []string
}

func (s *subscriber) take(ev Event) {
	s.positions = append(s.positions, ev.Position)
	s.ids = append(s.ids, ev.ID)
}

// checkDelivery checks that a subscriber got every event from its start to
// the end of the log, in order, once each.
func checkDelivery(t *testing.T, name string, s *subscriber, log []Event) {
	t.Helper()
	start := max(s.from, 1)
	want := log[start-1:]
	require.Len(t, s.positions, len(want), "%s: delivered count from %d", name, start)
	for i, ev := range want {
		require.Equal(t, ev.Position, s.positions[i], "%s: position %d in order, no gap, no duplicate", name, i)
		require.Equal(t, ev.ID, s.ids[i], "%s: event at position %d", name, ev.Position)
	}
}

// testSubscriptionsUnderLoad runs writers and subscribers together: a live
// subscriber from the start, one that joins late from the middle, one that
// stops and resumes at random points, and one that stalls until every
// writer is done. Writers must finish while the slow one stalls, which
// synctest would report as a deadlock if they waited for it.
func testSubscriptionsUnderLoad(t *testing.T, open func() Store) {
	synctest.Test(t, func(t *testing.T) {
		store := open()
		defer store.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const writers, perWriter = 8, 250
		total := uint64(writers * perWriter)

		follow := func(s *subscriber, stall <-chan struct{}) {
			for ev, err := range store.Subscribe(ctx, s.from) {
				if err != nil {
					t.Errorf("subscription from %d: %v", s.from, err)
					return
				}
				if stall != nil {
					<-stall
					stall = nil
				}
				s.take(ev)
				if ev.Position == total {
					return
				}
			}
		}
		live := &subscriber{}
		late := &subscriber{from: total / 2}
		slow := &subscriber{}
		resumed := &subscriber{}
		stall := make(chan struct{})
		var subs sync.WaitGroup
		subs.Add(4)
		go func() { defer subs.Done(); follow(live, nil) }()
		go func() { defer subs.Done(); follow(late, nil) }()
		go func() { defer subs.Done(); follow(slow, stall) }()
		go func() {
			defer subs.Done()
			rng := rand.New(rand.NewPCG(1, 2))
			next := uint64(0)
			for next <= total {
				stopAfter := 1 + rng.IntN(300)
				n := 0
				for ev, err := range store.Subscribe(ctx, next) {
					if err != nil {
						t.Errorf("resumed subscription: %v", err)
						return
					}
					resumed.take(ev)
					next = ev.Position + 1
					if n++; n == stopAfter || ev.Position == total {
						break
					}
				}
			}
		}()

		var writes sync.WaitGroup
		for w := range writers {
			writes.Add(1)
			go func() {
				defer writes.Done()
				for i := range perWriter {
					_, err := store.Append(ctx, fmt.Sprint("s", (w+i)%5), Any, ed(fmt.Sprintf("w%d-%d", w, i), "T", ""))
					if err != nil {
						t.Errorf("append: %v", err)
						return
					}
				}
			}()
		}
		writes.Wait() // completes although the slow subscriber has not moved
		assert.Empty(t, slow.positions, "the slow subscriber is still stalled when the writers finish")
		close(stall)
		subs.Wait()

		log := collect(t, store.ReadAll(ctx, 0))
		require.Len(t, log, int(total), "every event in the log")
		checkDelivery(t, "live", live, log)
		checkDelivery(t, "late", late, log)
		checkDelivery(t, "slow", slow, log)
		checkDelivery(t, "resumed", resumed, log)
	})
}

func TestSubscriptionsUnderLoad(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		testSubscriptionsUnderLoad(t, func() Store { return NewMemoryStore(MemoryConfig{}) })
	})
	t.Run("file", func(t *testing.T) {
		testSubscriptionsUnderLoad(t, func() Store {
			s, err := openFileStore(FileConfig{Dir: "/db"}, crashfs.New())
			require.NoError(t, err, "open")
			return s
		})
	})
}

// TestSubscriptionWaitsWithoutPolling checks that a caught-up subscription
// blocks until the next append, without waking on its own, and that Close
// and cancellation end it.
func TestSubscriptionWaitsWithoutPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore(MemoryConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan Event)
		ended := make(chan error, 1)
		go func() {
			for ev, err := range store.Subscribe(ctx, 0) {
				if err != nil {
					ended <- err
					return
				}
				got <- ev
			}
		}()
		synctest.Wait()
		select {
		case ev := <-got:
			t.Fatalf("an empty store delivered %v", ev)
		default:
		}
		_, err := store.Append(ctx, "s", Any, ed("a", "T", ""))
		require.NoError(t, err, "append")
		assert.Equal(t, "a", (<-got).ID, "the append wakes the subscription")
		synctest.Wait()
		cancel()
		require.ErrorIs(t, <-ended, context.Canceled, "cancellation ends a waiting subscription")

		// Subscriptions that give up while nothing is appended leave nothing
		// behind: a long-polling caller cannot grow the waiter list.
		for range 100 {
			short, stop := context.WithCancel(context.Background())
			go func() {
				for _, err := range store.Subscribe(short, 2) {
					ended <- err
					return
				}
			}()
			synctest.Wait()
			stop()
			require.ErrorIs(t, <-ended, context.Canceled, "short subscription ends")
		}
		store.e.waiters.mu.Lock()
		assert.Empty(t, store.e.waiters.list, "no registration outlives its subscription")
		store.e.waiters.mu.Unlock()

		ctx2 := context.Background()
		go func() {
			for _, err := range store.Subscribe(ctx2, 2) {
				ended <- err
				return
			}
		}()
		synctest.Wait()
		require.NoError(t, store.Close(), "close")
		require.ErrorIs(t, <-ended, ErrClosed, "Close ends a waiting subscription")
	})
}
