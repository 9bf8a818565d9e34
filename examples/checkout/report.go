package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/distkit/distkit/eventsource"
)

// readModel waits for the projection to include every event and reports
// it, with the statistics each component keeps.
func (s *story) readModel(ctx context.Context) error {
	c := s.c
	ctx, cancel := within(ctx)
	defer cancel()
	st := c.storeStats()
	sum, err := c.projection.waitFor(ctx, st.Events)
	if err != nil {
		return err
	}
	s.out.Summary, s.out.StoreEvents = sum, st.Events
	s.say("\n7. Read model: a projection subscribed to the store's global log")
	s.say("   %d orders: %d paid, %d cancelled (%d for want of stock, %d unpaid); revenue %s",
		sum.Orders, sum.Paid, sum.Cancelled, sum.SoldOut, sum.Cancelled-sum.SoldOut, money(sum.RevenueCents))
	s.say("   store %s: %d events in %d streams (%d appends by this run)", c.storeName, st.Events, st.Streams, st.Appends)

	if err := s.checkClocks(ctx); err != nil {
		return err
	}
	if len(s.out.HLCViolations) == 0 {
		s.say("   hybrid logical clock: each payment is stamped after its order was placed, and its capture after the payment")
	}
	for _, v := range s.out.HLCViolations {
		s.say("   hybrid logical clock out of order: %s", v)
	}

	lbs := c.payments.balancer.Stats()
	s.out.Balancer = lbs
	s.say("   balancer: %d endpoints, %d available, %d ejected", lbs.Endpoints, lbs.Available, lbs.Ejected)
	for _, ep := range lbs.PerEndpoint {
		s.out.BalancerIDs = append(s.out.BalancerIDs, s.serviceAt(ep.Addr))
		s.say("     %-9s latency %-8s ejections %d", s.serviceAt(ep.Addr), ep.Latency.Round(10*time.Microsecond), ep.Ejections)
	}
	bh := c.payments.bulkhead.Stats()
	s.out.Bulkhead = bh
	s.say("   bulkhead: limit %d, in flight %d, queued %d, turned away %d, timed out %d", bh.Limit, bh.InFlight, bh.Queued, bh.Rejected, bh.TimedOut)
	bs := c.payments.breaker.Stats()
	s.out.Breaker, s.out.BreakerStats = s.transitions(), bs
	s.say("   breaker: %s; it opened %d times, %d transitions in all", bs.State, bs.Opens, bs.Transitions)
	rs := c.platform.registry.Stats()
	s.out.Expirations = rs.Expirations
	s.say("   registry: %d instances listed (%d registered in all, %d removed by lease expiry)", rs.Instances, rs.Registrations, rs.Expirations)
	return nil
}

// serviceAt names the instance listening at addr.
func (s *story) serviceAt(addr string) string {
	for id, in := range s.c.services {
		if in.Address == addr {
			return id
		}
	}
	return addr
}

// checkClocks reads back every order this run paid for and checks the
// causal chain the HLC promises: placed < charged < captured.
func (s *story) checkClocks(ctx context.Context) error {
	paid := slices.Concat(s.out.Rush, s.out.Outage, s.out.Recovery)
	for _, r := range paid {
		if r.Status != "paid" {
			continue
		}
		var placed OrderPlaced
		var captured PaymentCaptured
		for ev, err := range s.c.store.ReadStream(ctx, r.ID, 0, eventsource.Forward) {
			if err != nil {
				return err
			}
			data, err := s.c.codec.Decode(ev)
			if err != nil {
				return err
			}
			switch e := data.(type) {
			case OrderPlaced:
				placed = e
			case PaymentCaptured:
				captured = e
			}
		}
		if !(placed.At < r.Receipt.At && r.Receipt.At < captured.At) {
			s.out.HLCViolations = append(s.out.HLCViolations,
				fmt.Sprintf("%s placed %s, charged %s, captured %s", r.ID, placed.At, r.Receipt.At, captured.At))
		}
	}
	return nil
}
