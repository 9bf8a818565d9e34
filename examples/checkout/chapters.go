package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// paymentLatency is how long a healthy payment replica takes to reach the
// card network.
const paymentLatency = 2 * time.Millisecond

// platform starts the services and waits until the checkout's watches
// have fed them to the balancer and the ring.
func (s *story) platform(ctx context.Context) error {
	c := s.c
	s.say("distkit checkout: a shop's services on loopback HTTP, and what goes wrong between them\n")
	s.say("1. Services register with discovery; the checkout watches it")
	s.say("   registry %s (bearer token), leases of %s renewed every ~%s", c.platform.server.URL, leaseTTL, (leaseTTL / 3).Round(time.Millisecond))
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("inventory-%d", i)
		s.say("   %-11s %s", id, c.startService("inventory", id, newInventoryService()).Address)
	}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("payment-%d", i)
		broken := i == 3
		in := c.startService("payment", id, newPaymentService(id, paymentLatency, c.network, broken))
		note := ""
		if broken {
			note = "  (its link to the card network is down: it fails every charge, fast)"
		}
		s.say("   %-11s %s%s", id, in.Address, note)
	}

	ctx, cancel := within(ctx)
	defer cancel()
	pay, err := c.paymentSet.waitFor(ctx, "payment-1", "payment-2", "payment-3")
	if err != nil {
		return err
	}
	inv, err := c.inventorySet.waitFor(ctx, "inventory-1", "inventory-2", "inventory-3")
	if err != nil {
		return err
	}
	s.say("   watch \"payment\"   → peak-EWMA balancer: %s", strings.Join(pay, " "))
	s.say("   watch \"inventory\" → consistent-hash ring: %s", strings.Join(inv, " "))

	var placed []string
	for _, p := range catalog {
		shard, err := c.inventory.restock(ctx, p.sku, p.stock)
		if err != nil {
			return err
		}
		placed = append(placed, p.sku+"→"+shard)
	}
	s.say("   stock loaded through the ring: %s", strings.Join(placed, " "))

	sum, err := c.projection.waitFor(ctx, c.storeStats().Events)
	if err != nil {
		return err
	}
	s.orders = sum.Orders
	if s.cfg.DataDir == "" {
		s.say("   events are kept in memory (-data DIR keeps them on disk)")
	} else {
		s.say("   events are kept in %s, which holds %d orders from earlier runs", s.cfg.DataDir, sum.Orders)
	}
	return nil
}

// replicatedCart writes one cart from two devices through two replicas at
// once and merges the result.
func (s *story) replicatedCart(context.Context) error {
	carts := s.c.carts
	holders := carts.holders("alice")
	phone, laptop := holders[0], holders[1]
	s.say("\n2. One cart, two replicas, two devices (dotted version vectors)")
	s.say("   cart replicas from configuration (a discovery.Static list): %s", strings.Join(carts.ring.Nodes(), " "))
	s.say("   alice's cart lives on %s and %s, the ring's preference list for her", phone.name, laptop.name)
	a, err := carts.add("alice", phone, "book")
	if err != nil {
		return err
	}
	s.say("   phone  adds book via %s → context %s", phone.name, a.Context())
	b, err := carts.add("alice", laptop, "lamp")
	if err != nil {
		return err
	}
	s.say("   laptop adds lamp via %s → context %s (%s has not heard of the book yet)", laptop.name, b.Context(), laptop.name)

	merged := carts.sync("alice")
	s.say("   anti-entropy: %d siblings %v under context %s; neither write is lost", merged.Len(), merged.Values(), merged.Context())
	items, _, err := carts.checkout("alice")
	if err != nil {
		return err
	}
	after := laptop.get("alice")
	s.say("   checkout merges the siblings by union → %v and writes that back: %d value on each replica, context %s",
		items, after.Len(), after.Context())
	s.out.CartSiblings, s.out.CartMerged, s.out.CartAfter = union(merged.Values()), items, after.Len()
	return nil
}

// lunchRush checks out every shopper at once.
func (s *story) lunchRush(ctx context.Context) error {
	c := s.c
	n := s.cfg.Shoppers
	s.say("\n3. Lunch rush: %d shoppers check out at once", n)
	customers := make([]string, n)
	for i := range customers {
		customers[i] = shopper(i)
		if i > 0 { // alice's cart is the one merged above
			if err := s.fillCart(customers[i], pickItems(s.rand)...); err != nil {
				return err
			}
		}
	}
	results := make([]orderResult, n)
	g, gctx := errgroup.WithContext(ctx)
	for i, who := range customers {
		id := s.nextOrder()
		g.Go(func() (err error) {
			results[i], err = c.placeOrder(gctx, id, who)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.out.Rush, s.out.CartsAfterRush = results, map[string][]string{}
	kept := 0
	for _, r := range results {
		s.say("   %s", orderLine(r))
		if s.out.CartsAfterRush[r.Customer] = c.carts.items(r.Customer); len(s.out.CartsAfterRush[r.Customer]) > 0 {
			kept++
		}
	}
	s.say("   paid orders emptied their carts (a DVVSet delete under the context the order read); %d cancelled ones kept theirs", kept)

	p := c.payments
	ejected := s.ejections()
	s.out.Ejected, s.out.PeakPayments = ejected, p.peak.Load()
	if len(ejected) > 0 {
		s.say("   the balancer ejected %s at its first failure; the breaker stayed %s", strings.Join(ejected, ", "), p.breaker.State())
	} else {
		s.say("   payment-3 was never picked, so it was never ejected")
	}
	s.say("   the bulkhead let at most %d payment calls run at once", s.out.PeakPayments)
	return nil
}

// fillCart puts items in customer's cart, as a shopper browsing would,
// and lets the cart's replicas catch up with each other.
func (s *story) fillCart(customer string, items ...string) error {
	primary := s.c.carts.holders(customer)[0]
	for _, sku := range items {
		if _, err := s.c.carts.add(customer, primary, sku); err != nil {
			return err
		}
	}
	s.c.carts.sync(customer)
	return nil
}

func (s *story) nextOrder() string {
	s.orders++
	return fmt.Sprintf("order-%04d", s.orders)
}
