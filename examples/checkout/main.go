// Command checkout is a miniature e-commerce checkout that composes
// distkit's packages the way a real service would. Every service runs in
// this process but talks over HTTP on loopback, so what happens between
// them is real: leases expire, replicas fail, retries wait.
//
//	go run ./examples/checkout              # events in memory
//	go run ./examples/checkout -data DIR    # events in a durable FileStore
//
// The story it prints:
//
//  1. inventory shards and payment replicas register with a discovery
//     registry served over HTTP (TTL leases, heartbeats); the checkout
//     watches it and feeds a load balancer (payment) and a consistent-hash
//     ring (inventory) from the watch;
//  2. a shopping cart is written on two replicas at once and its siblings
//     are merged (dotted version vectors);
//  3. a lunch rush of concurrent shoppers: orders are event-sourced
//     aggregates, items are reserved on the shard that owns them, payments
//     go through retry, a bulkhead, a circuit breaker and a peak-EWMA
//     balancer whose outlier ejection takes out a broken replica;
//  4. a replica dies without deregistering and its lease expires, while a
//     new one joins: the balancer follows the watch;
//  5. the card network fails: the breaker opens and retries wait as long as
//     it asks;
//  6. the network recovers: a probe closes the breaker;
//  7. a projection fed by a subscription to the event store summarises it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// config is what a run of the checkout may vary.
type config struct {
	// Shoppers is the number of concurrent shoppers in the lunch rush; zero
	// means 16. With fewer, the broken payment replica may never be picked,
	// and so never ejected.
	Shoppers int
	// DataDir, if set, keeps the events in a durable FileStore there, so a
	// second run continues where the first stopped. Empty means memory.
	DataDir string
	// Seed makes the shoppers' carts reproducible.
	Seed uint64

	// outcome, if not nil, receives what happened, for tests.
	outcome *outcome
}

func main() {
	var cfg config
	flag.IntVar(&cfg.Shoppers, "shoppers", 16, "shoppers in the lunch rush")
	flag.StringVar(&cfg.DataDir, "data", "", "directory of a durable event store (default: in memory)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the shoppers' carts")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}

// run plays the whole story, writing it to w, and returns once every
// server, goroutine and file it started is closed.
func run(ctx context.Context, w io.Writer, cfg config) (err error) {
	if cfg.Shoppers <= 0 {
		cfg.Shoppers = 16
	}
	c, err := newCheckout(ctx, cfg)
	if err != nil {
		return err
	}
	// A failure of the background work, which close returns, is the
	// cause of whatever stopped the story, so it comes first.
	defer func() { err = errors.Join(c.close(), err) }()

	s := &story{c: c, w: w, cfg: cfg, out: cfg.outcome}
	if s.out == nil {
		s.out = new(outcome)
	}
	// The story runs under the checkout's context, which also ends if a
	// watch or the projection fails; close then reports why.
	return s.play(c.ctx)
}
