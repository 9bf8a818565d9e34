package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/distkit/distkit/breaker"
	"github.com/distkit/distkit/bulkhead"
	"github.com/distkit/distkit/lb"
)

// story plays the checkout's day and tells it.
type story struct {
	c      *checkout
	w      io.Writer
	cfg    config
	out    *outcome
	rand   *rand.Rand
	orders int // orders placed so far, this run and earlier ones
	werr   error
}

// outcome is what happened, for tests.
type outcome struct {
	CartSiblings []string // values of the cart's siblings before the merge
	CartMerged   []string
	CartAfter    int // siblings left after the merge was written back

	Rush, Outage, Recovery []orderResult
	CartsAfterRush         map[string][]string // each rush shopper's cart after the rush
	PeakPayments           int64               // payment calls in flight at once, at most
	Ejected                []string            // replicas the balancer ejected
	PaymentsAfterChange    []string            // the balancer's replicas after one died and one joined
	Breaker                []string            // its transitions, in order
	BreakerStats           breaker.Stats
	Bulkhead               bulkhead.Stats
	Balancer               lb.Stats
	BalancerIDs            []string // the replicas the balancer holds at the end
	Expirations            uint64   // leases the registry let expire
	HLCViolations          []string
	Summary                summary // the projection at the end, earlier runs included
	StoreEvents            uint64
}

// play runs the chapters in order.
func (s *story) play(ctx context.Context) error {
	s.rand = rand.New(rand.NewPCG(s.cfg.Seed, 0x636865636b6f7574))
	chapters := []func(context.Context) error{
		s.platform, s.replicatedCart, s.lunchRush, s.replicaChange, s.outage, s.recovery, s.readModel,
	}
	for _, chapter := range chapters {
		if err := chapter(ctx); err != nil {
			return err
		}
		if s.werr != nil {
			return s.werr
		}
	}
	return nil
}

func (s *story) say(format string, args ...any) {
	if s.werr == nil {
		_, s.werr = fmt.Fprintf(s.w, format+"\n", args...)
	}
}

// within bounds a wait of the story, so that a broken run fails instead
// of hanging.
func within(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 10*time.Second)
}

// orderLine is one line about an order.
func orderLine(r orderResult) string {
	line := fmt.Sprintf("%s %-6s %-16s %7s  ", r.ID, r.Customer, strings.Join(r.Items, " "), money(r.Cents))
	if r.Status == "paid" {
		line += "paid via " + r.Receipt.Replica
	} else {
		line += "cancelled: " + r.Reason
	}
	var failed []string
	for _, a := range r.Attempts {
		if a.err != nil {
			failed = append(failed, a.failure)
		}
	}
	if r.Status == "paid" && len(failed) > 0 {
		line += " after " + strings.Join(failed, ", ")
	}
	return line
}

// attemptLines tells each attempt of a payment, with the wait before it.
func attemptLines(r orderResult) []string {
	var lines []string
	for i, a := range r.Attempts {
		line := fmt.Sprintf("attempt %d", i+1)
		if i > 0 {
			line += fmt.Sprintf(" (%s later)", a.start.Sub(r.Attempts[i-1].start).Round(time.Millisecond))
		}
		if a.err == nil {
			line += ": " + a.replica + " charged " + money(r.Cents)
		} else {
			line += ": " + a.failure
		}
		lines = append(lines, line)
	}
	return lines
}
