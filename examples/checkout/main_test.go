package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/distkit/distkit/breaker"
	"github.com/distkit/distkit/eventsource"
)

// Every server, watch, heartbeat and connection the checkout starts must
// be gone when run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCheckoutEndToEnd(t *testing.T) {
	var out outcome
	var buf bytes.Buffer
	err := run(t.Context(), &buf, config{Seed: 1, outcome: &out})
	require.NoError(t, err, "the checkout should run to the end; it wrote:\n%s", buf.String())
	text := "\n" + buf.String()
	for _, chapter := range []string{"1. Services register", "2. One cart", "3. Lunch rush", "4. payment-3's host dies",
		"5. The card network goes down", "6. The card network is back", "7. Read model"} {
		assert.Contains(t, text, "\n"+chapter, "the story should tell chapter %q", chapter)
	}

	t.Run("cart", func(t *testing.T) {
		assert.Equal(t, []string{"book", "lamp"}, out.CartSiblings, "both concurrent writes should survive as siblings")
		assert.Equal(t, []string{"book", "lamp"}, out.CartMerged, "the checkout should merge siblings by union")
		assert.Equal(t, 1, out.CartAfter, "writing the merge back should leave one value")
		assert.Equal(t, []string{"book", "lamp"}, out.Rush[0].Items, "alice should order the merged cart")
	})

	t.Run("lunch rush", func(t *testing.T) {
		require.Len(t, out.Rush, 16, "every shopper should place an order")
		vinylPaid, vinylCancelled := 0, 0
		for _, r := range out.Rush {
			switch r.Status {
			case "paid":
				assert.Empty(t, out.CartsAfterRush[r.Customer], "%s is paid, so %s's cart should be empty", r.ID, r.Customer)
				assert.Contains(t, []string{"payment-1", "payment-2"}, r.Receipt.Replica, "%s should be paid by a healthy replica", r.ID)
				if slices.Contains(r.Items, "vinyl") {
					vinylPaid++
				}
			case "cancelled":
				assert.Equal(t, "vinyl out of stock", r.Reason, "%s: only the scarce vinyl may run out in the rush", r.ID)
				assert.Empty(t, r.Attempts, "%s was cancelled before payment", r.ID)
				assert.Equal(t, r.Items, out.CartsAfterRush[r.Customer], "%s was cancelled, so %s should keep the cart", r.ID, r.Customer)
				vinylCancelled++
			default:
				t.Errorf("%s ended %q, want paid or cancelled", r.ID, r.Status)
			}
		}
		assert.Equal(t, 3, vinylPaid, "exactly the 3 vinyl records in stock should sell")
		assert.Positive(t, vinylCancelled, "seed 1 should ask for more vinyl than there is")
		require.NotEmpty(t, out.Ejected, "the balancer should eject the replica that fails every charge")
		assert.True(t, strings.HasPrefix(out.Ejected[0], "payment-3 "), "payment-3 should be ejected, got %v", out.Ejected)
		assert.LessOrEqual(t, out.PeakPayments, int64(2), "the bulkhead should hold 16 concurrent shoppers to 2 payment calls")
		assert.Positive(t, out.PeakPayments)
	})

	t.Run("lease expiry and scale-out", func(t *testing.T) {
		assert.Equal(t, []string{"payment-1", "payment-2", "payment-4"}, out.PaymentsAfterChange,
			"the watch should drop the crashed replica and add the new one")
		assert.GreaterOrEqual(t, out.Expirations, uint64(1), "the crashed replica should leave by lease expiry")
		assert.Equal(t, []string{"payment-1", "payment-2", "payment-4"}, out.BalancerIDs,
			"at the end the balancer should hold exactly the live replicas")
	})

	t.Run("outage", func(t *testing.T) {
		require.Len(t, out.Outage, 2)
		first := out.Outage[0]
		assert.Equal(t, []string{"pen", "tea"}, first.Items)
		assert.Equal(t, "cancelled", first.Status)
		assert.Equal(t, reasonPayment, first.Reason)
		require.Len(t, first.Attempts, 5, "the first order should use every attempt")
		for _, a := range first.Attempts[:4] {
			var se *statusError
			assert.True(t, errors.As(a.err, &se) && se.code == 503, "the first 4 attempts should reach a replica and get 503, got %v", a.err)
		}
		assert.ErrorIs(t, first.Attempts[4].err, breaker.ErrOpen, "4 failures in a row should open the breaker")
		second := out.Outage[1]
		assert.Equal(t, "cancelled", second.Status)
		rejected := 0
		for _, a := range second.Attempts {
			if errors.Is(a.err, breaker.ErrOpen) {
				rejected++
			}
		}
		assert.Positive(t, rejected, "the open breaker should turn away some attempts of the next order")
		assertHintsHonoured(t, second)
		assert.Contains(t, out.Breaker, "closed→open")
		assert.Contains(t, out.Breaker, "half-open→open", "a probe during the outage should reopen the breaker")
	})

	t.Run("recovery", func(t *testing.T) {
		require.Len(t, out.Recovery, 1)
		r := out.Recovery[0]
		assert.Equal(t, "paid", r.Status, "once the network is back the order should be paid")
		assertHintsHonoured(t, r)
		assert.Equal(t, breaker.StateClosed, out.BreakerStats.State, "a successful probe should close the breaker")
		assert.GreaterOrEqual(t, out.BreakerStats.Opens, uint64(2), "the breaker should open, and reopen after a failed probe")
	})

	t.Run("event store and projection", func(t *testing.T) {
		s := out.Summary
		assert.Equal(t, 19, s.Orders, "16 rush orders, 2 during the outage, 1 after")
		assert.Equal(t, s.Orders, s.Paid+s.Cancelled, "every order should end paid or cancelled")
		assert.Equal(t, 2, s.Cancelled-s.SoldOut, "the two outage orders should be cancelled unpaid")
		assert.Equal(t, out.StoreEvents, s.Position, "the projection should have applied every stored event")
		assert.Equal(t, s.Orders, s.Events["OrderPlaced"])
		assert.Equal(t, s.Paid, s.Events["PaymentCaptured"])
		assert.Equal(t, 2, s.Events["PaymentFailed"])
		assert.Equal(t, s.Cancelled, s.Events["OrderCancelled"])
		total := 0
		for _, n := range s.Events {
			total += n
		}
		assert.Equal(t, int(out.StoreEvents), total, "the projection should count each event once")
		var revenue int64
		for _, r := range slices.Concat(out.Rush, out.Outage, out.Recovery) {
			if r.Status == "paid" {
				revenue += r.Cents
			}
		}
		assert.Equal(t, revenue, s.RevenueCents, "revenue should be the sum of paid orders")
		assert.Empty(t, out.HLCViolations, "placed < charged < captured on the hybrid logical clock")
	})

	t.Run("stats", func(t *testing.T) {
		assert.Zero(t, out.Bulkhead.InFlight, "no payment call should hold a permit at the end")
		assert.Zero(t, out.Bulkhead.Queued)
		assert.Equal(t, 2, out.Bulkhead.Limit)
	})
}

// assertHintsHonoured checks that after every breaker rejection that gave
// a wait, the next attempt came no sooner.
func assertHintsHonoured(t *testing.T, r orderResult) {
	t.Helper()
	for i, a := range r.Attempts[:len(r.Attempts)-1] {
		if a.hint > 0 {
			waited := r.Attempts[i+1].start.Sub(a.start)
			assert.GreaterOrEqual(t, waited, a.hint-time.Millisecond,
				"%s attempt %d: the breaker asked for %s, retry waited %s", r.ID, i+1, a.hint, waited)
		}
	}
}

// A second run on the same directory finds the first run's orders in the
// durable store and continues after them.
func TestCheckoutDurable(t *testing.T) {
	dir := t.TempDir()
	var first, second outcome
	require.NoError(t, run(t.Context(), new(bytes.Buffer), config{Shoppers: 4, Seed: 2, DataDir: dir, outcome: &first}))
	var buf bytes.Buffer
	require.NoError(t, run(t.Context(), &buf, config{Shoppers: 4, Seed: 2, DataDir: dir, outcome: &second}))

	perRun := len(first.Rush) + len(first.Outage) + len(first.Recovery)
	assert.Equal(t, 7, perRun, "4 rush orders, 2 during the outage, 1 after")
	assert.Contains(t, buf.String(), fmt.Sprintf("which holds %d orders from earlier runs", perRun))
	assert.Equal(t, fmt.Sprintf("order-%04d", perRun+1), second.Rush[0].ID, "numbering should continue after the first run")
	assert.Equal(t, 2*perRun, second.Summary.Orders, "the projection should replay the first run's orders")

	// Reopen the store: everything acknowledged is on disk, each order a
	// stream that starts with OrderPlaced and ends paid or cancelled.
	store, err := eventsource.OpenFileStore(eventsource.FileConfig{Dir: dir})
	require.NoError(t, err)
	defer store.Close()
	streams := map[string][]string{}
	for ev, err := range store.ReadAll(t.Context(), 0) {
		require.NoError(t, err)
		streams[ev.Stream] = append(streams[ev.Stream], ev.Type)
	}
	assert.Len(t, streams, 2*perRun)
	total := 0
	for _, types := range streams {
		total += len(types)
	}
	assert.Equal(t, int(second.StoreEvents), total, "the reopened store should hold every event the second run counted")
	assert.Less(t, first.StoreEvents, second.StoreEvents, "the second run should append after the first")
	for name, types := range streams {
		assert.Equal(t, "OrderPlaced", types[0], "%s should start with OrderPlaced", name)
		last := types[len(types)-1]
		assert.Contains(t, []string{"PaymentCaptured", "OrderCancelled"}, last, "%s should end paid or cancelled", name)
		assert.Equal(t, second.Summary.Statuses[name], map[string]string{"PaymentCaptured": "paid", "OrderCancelled": "cancelled"}[last],
			"the projection's status of %s should match its stream", name)
	}
}

// Canceling the context mid-story stops everything promptly; goleak in
// TestMain checks that nothing is left running.
func TestCheckoutCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &cancelOn{marker: "3. Lunch rush", cancel: cancel}
	err := run(ctx, w, config{Seed: 1})
	require.ErrorIs(t, err, context.Canceled, "a canceled run should say so")
	assert.NotContains(t, w.String(), "4. payment-3", "the story should stop in the rush")
}

// cancelOn cancels a context once the story writes marker.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(w.marker)) {
		w.cancel()
	}
	return w.buf.Write(p)
}

func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
