package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/distkit/distkit/eventsource"
	"github.com/distkit/distkit/vclock"
)

// The events of an order. An order's state is nothing but these, folded
// in the order they happened; the store keeps them for good.
type (
	OrderPlaced struct {
		Customer string           `json:"customer"`
		Items    []string         `json:"items"`
		Cents    int64            `json:"cents"`
		At       vclock.Timestamp `json:"at"`
	}
	ItemReserved struct {
		SKU   string `json:"sku"`
		Shard string `json:"shard"`
	}
	ItemReleased struct {
		SKU   string `json:"sku"`
		Shard string `json:"shard"`
	}
	PaymentCaptured struct {
		Receipt  string           `json:"receipt"`
		Replica  string           `json:"replica"`
		Attempts int              `json:"attempts"`
		At       vclock.Timestamp `json:"at"` // after the replica's charge on the HLC
	}
	PaymentFailed struct {
		Reason   string `json:"reason"`
		Attempts int    `json:"attempts"`
	}
	OrderCancelled struct {
		Reason string `json:"reason"`
	}
)

// orderCodec maps event types to their names in the store; each codec has
// its own registrations, so nothing here is global.
func orderCodec() *eventsource.Codec {
	c := new(eventsource.Codec)
	eventsource.RegisterJSON[OrderPlaced](c, "OrderPlaced")
	eventsource.RegisterJSON[ItemReserved](c, "ItemReserved")
	eventsource.RegisterJSON[ItemReleased](c, "ItemReleased")
	eventsource.RegisterJSON[PaymentCaptured](c, "PaymentCaptured")
	eventsource.RegisterJSON[PaymentFailed](c, "PaymentFailed")
	eventsource.RegisterJSON[OrderCancelled](c, "OrderCancelled")
	return c
}

// order is the state of one order, rebuilt from its events.
type order struct {
	Customer string
	Items    []string
	Cents    int64
	Reserved map[string]string // SKU -> shard holding it
	Status   string            // placed, paid or cancelled
	Receipt  string
	Reason   string
}

// applyOrder folds one event into an order. It must be deterministic:
// loading an order replays it over the stored events.
func applyOrder(o *order, event any) error {
	switch e := event.(type) {
	case OrderPlaced:
		o.Customer, o.Items, o.Cents, o.Status = e.Customer, e.Items, e.Cents, "placed"
	case ItemReserved:
		if o.Reserved == nil {
			o.Reserved = make(map[string]string)
		}
		o.Reserved[e.SKU] = e.Shard
	case ItemReleased:
		delete(o.Reserved, e.SKU)
	case PaymentCaptured:
		o.Status, o.Receipt = "paid", e.Receipt
	case PaymentFailed:
		o.Reason = e.Reason
	case OrderCancelled:
		o.Status, o.Reason = "cancelled", e.Reason
	default:
		return fmt.Errorf("order: unexpected event %T", event)
	}
	return nil
}

// reasonPayment is the reason of an order cancelled because it could not
// be paid; the others name the item that was out of stock.
const reasonPayment = "payment failed"

// orderResult is what the story tells about one order.
type orderResult struct {
	ID       string
	Customer string
	Items    []string
	Cents    int64
	Status   string
	Reason   string
	Receipt  receipt
	Attempts []attempt
}

// placeOrder turns customer's cart into an order: it reserves each item on
// the shard that owns it, then charges the payment service. If an item is
// out of stock or the payment fails, it releases what it reserved and
// cancels the order. The order is saved when placed, when its items are
// reserved and when it is paid or cancelled, so its stream always says how
// far it got.
func (c *checkout) placeOrder(ctx context.Context, id, customer string) (orderResult, error) {
	items, seen, err := c.carts.checkout(customer)
	if err != nil {
		return orderResult{}, fmt.Errorf("cart of %s: %w", customer, err)
	}
	if len(items) == 0 {
		return orderResult{}, fmt.Errorf("cart of %s is empty", customer)
	}
	res := orderResult{ID: id, Customer: customer, Items: items, Cents: priceOf(items)}
	a, err := c.orders.Load(ctx, id)
	if err != nil {
		return res, err
	}
	if a.Version != 0 {
		return res, fmt.Errorf("order %s already exists", id)
	}
	if err := c.step(ctx, a, OrderPlaced{Customer: customer, Items: items, Cents: res.Cents, At: c.clock.Now()}); err != nil {
		return res, err
	}
	for _, sku := range items {
		shard, err := c.inventory.reserve(ctx, id, sku)
		if errors.Is(err, errOutOfStock) {
			return c.cancel(ctx, a, res, err.Error())
		}
		if err != nil {
			return res, err
		}
		if err := a.Record(ItemReserved{SKU: sku, Shard: shard}); err != nil {
			return res, err
		}
	}
	if err := c.step(ctx, a); err != nil {
		return res, err
	}

	rc, tries, err := c.payments.charge(ctx, id, res.Cents)
	res.Receipt, res.Attempts = rc, tries
	if ctx.Err() != nil {
		return res, ctx.Err() // shutting down: the order stays reserved, as its stream says
	}
	if err != nil {
		if err := a.Record(PaymentFailed{Reason: err.Error(), Attempts: len(tries)}); err != nil {
			return res, err
		}
		return c.cancel(ctx, a, res, reasonPayment)
	}
	res.Status = "paid"
	if err := c.step(ctx, a, PaymentCaptured{Receipt: rc.ID, Replica: rc.Replica, Attempts: len(tries), At: c.clock.Now()}); err != nil {
		return res, err
	}
	// A paid order empties the cart; a cancelled one leaves it to the
	// shopper.
	c.carts.empty(customer, seen)
	return res, nil
}

// cancel releases an order's reservations and cancels it.
func (c *checkout) cancel(ctx context.Context, a *eventsource.Aggregate[order], res orderResult, reason string) (orderResult, error) {
	for _, sku := range slices.Sorted(maps.Keys(a.State.Reserved)) {
		shard, err := c.inventory.release(ctx, res.ID, sku)
		if err != nil {
			return res, err
		}
		if err := a.Record(ItemReleased{SKU: sku, Shard: shard}); err != nil {
			return res, err
		}
	}
	res.Status, res.Reason = "cancelled", reason
	return res, c.step(ctx, a, OrderCancelled{Reason: reason})
}

// step records events on the order and saves everything recorded so far,
// expecting the stream to be where the order was loaded.
func (c *checkout) step(ctx context.Context, a *eventsource.Aggregate[order], events ...any) error {
	if err := a.Record(events...); err != nil {
		return err
	}
	_, err := c.orders.Save(ctx, a)
	return err
}
