package main

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/distkit/distkit/eventsource"
)

// summary is the read model the projection keeps: a few numbers a shop
// dashboard would show, derived from the global log only.
type summary struct {
	Orders, Paid, Cancelled int
	RevenueCents            int64
	SoldOut                 int               // orders cancelled for want of stock
	Position                uint64            // the last event applied
	Statuses                map[string]string // order -> placed, paid or cancelled
	Events                  map[string]int    // events applied, by type
}

// projection follows the event store's global log from the start and
// folds every event into a summary. A subscription is in order and has no
// gaps, so the summary never misses an event however far behind it runs.
type projection struct {
	codec *eventsource.Codec

	mu       sync.Mutex
	sum      summary
	pending  map[string]int64 // order -> amount, until paid or cancelled
	progress chan struct{}    // closed and replaced after every event
}

func newProjection(codec *eventsource.Codec) *projection {
	return &projection{
		codec:    codec,
		sum:      summary{Statuses: map[string]string{}, Events: map[string]int{}},
		pending:  map[string]int64{},
		progress: make(chan struct{}),
	}
}

// run applies the store's events until ctx ends.
func (p *projection) run(ctx context.Context, store eventsource.Store) error {
	for ev, err := range store.Subscribe(ctx, p.position()+1) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("projection: %w", err)
		}
		data, err := p.codec.Decode(ev)
		if err != nil {
			return fmt.Errorf("projection at position %d: %w", ev.Position, err)
		}
		p.apply(ev, data)
	}
	return nil
}

func (p *projection) apply(ev eventsource.Event, data any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.sum
	switch e := data.(type) {
	case OrderPlaced:
		s.Orders++
		s.Statuses[ev.Stream] = "placed"
		p.pending[ev.Stream] = e.Cents
	case PaymentCaptured:
		s.Paid++
		s.RevenueCents += p.pending[ev.Stream]
		s.Statuses[ev.Stream] = "paid"
		delete(p.pending, ev.Stream)
	case OrderCancelled:
		s.Cancelled++
		if e.Reason != reasonPayment {
			s.SoldOut++
		}
		s.Statuses[ev.Stream] = "cancelled"
		delete(p.pending, ev.Stream)
	}
	s.Events[ev.Type]++
	s.Position = ev.Position
	close(p.progress)
	p.progress = make(chan struct{})
}

func (p *projection) position() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sum.Position
}

// waitFor returns the summary once it includes global position pos: the
// read-your-writes wait of a client that has just appended there.
func (p *projection) waitFor(ctx context.Context, pos uint64) (summary, error) {
	for {
		p.mu.Lock()
		s, progress := p.sum, p.progress
		s.Statuses, s.Events = maps.Clone(s.Statuses), maps.Clone(s.Events)
		p.mu.Unlock()
		if s.Position >= pos {
			return s, nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return s, fmt.Errorf("projection at %d waiting for %d: %w", s.Position, pos, ctx.Err())
		}
	}
}
