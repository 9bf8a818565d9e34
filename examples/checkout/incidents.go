package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// replicaChange kills payment-3 without a goodbye and adds payment-4: the
// registry's lease expiry and the watch carry both to the balancer.
func (s *story) replicaChange(ctx context.Context) error {
	c := s.c
	s.say("\n4. payment-3's host dies; payment-4 joins")
	c.startService("payment", "payment-4", newPaymentService("payment-4", paymentLatency, c.network, false))
	died := time.Now()
	c.services["payment-3"].crash()
	s.say("   payment-3 stops heartbeating and cannot deregister; payment-4 registers")

	ctx, cancel := within(ctx)
	defer cancel()
	ids, err := c.paymentSet.waitFor(ctx, "payment-1", "payment-2", "payment-4")
	if err != nil {
		return err
	}
	s.out.PaymentsAfterChange = ids
	s.say("   %s later payment-3's lease has expired, and the watch has updated the balancer: %s",
		time.Since(died).Round(10*time.Millisecond), strings.Join(ids, " "))
	return nil
}

// outage takes the card network down for two orders.
func (s *story) outage(ctx context.Context) error {
	s.say("\n5. The card network goes down")
	s.c.network.down.Store(true)
	for _, who := range []string{"oscar", "uma"} {
		r, err := s.order(ctx, who, "pen", "tea")
		if err != nil {
			return err
		}
		s.out.Outage = append(s.out.Outage, r)
	}
	s.say("   breaker: %s", strings.Join(s.transitions(), ", "))
	if ejected := s.ejections()[len(s.out.Ejected):]; len(ejected) > 0 {
		s.say("   the balancer ejected %s too; its cap (10%% of the replicas, but at least one) keeps an outage of the whole service from ejecting them all",
			strings.Join(ejected, ", "))
	}
	return nil
}

// recovery brings the card network back for one more order.
func (s *story) recovery(ctx context.Context) error {
	s.say("\n6. The card network is back")
	s.c.network.down.Store(false)
	r, err := s.order(ctx, "wendy", "lamp")
	if err != nil {
		return err
	}
	s.out.Recovery = append(s.out.Recovery, r)
	state := s.c.payments.breaker.State()
	if len(r.Attempts) == 0 {
		return fmt.Errorf("%s never reached payment: %s", r.ID, r.Reason)
	}
	if first, last := r.Attempts[0], r.Attempts[len(r.Attempts)-1]; first.err != nil {
		s.say("   the breaker was still open: retry waited %s, as long as it asked, until a probe went through; breaker %s",
			last.start.Sub(first.start).Round(time.Millisecond), state)
	} else {
		s.say("   the breaker was half-open: this payment was its probe; breaker %s", state)
	}
	return nil
}

// order fills customer's cart with items, places the order and tells
// every attempt of its payment. The incident chapters pass plentiful
// items, so that their orders are about payment, not stock.
func (s *story) order(ctx context.Context, customer string, items ...string) (orderResult, error) {
	if err := s.fillCart(customer, items...); err != nil {
		return orderResult{}, err
	}
	r, err := s.c.placeOrder(ctx, s.nextOrder(), customer)
	if err != nil {
		return r, err
	}
	s.say("   %s", orderLine(r))
	for _, line := range attemptLines(r) {
		s.say("      %s", line)
	}
	return r, nil
}

// ejections lists the replicas the balancer ejected, in order.
func (s *story) ejections() []string {
	p := s.c.payments
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ejected...)
}

// transitions lists the breaker's state changes, in order.
func (s *story) transitions() []string {
	p := s.c.payments
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.transitions...)
}
