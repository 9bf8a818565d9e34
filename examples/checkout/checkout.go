package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/distkit/distkit/discovery"
	"github.com/distkit/distkit/eventsource"
	"github.com/distkit/distkit/vclock"
)

// checkout is the order service and the world around it: the platform its
// dependencies run on, its clients of them, and its event store.
type checkout struct {
	platform *platform
	network  *cardNetwork
	services map[string]*instance

	clock     *vclock.HLC
	discovery *discovery.Client
	transport *http.Transport
	payments  *paymentClient
	inventory *inventoryClient
	carts     *cartStore

	store      eventsource.Store
	storeStats func() eventsource.Stats
	storeName  string
	orders     *eventsource.Repository[order]
	codec      *eventsource.Codec
	projection *projection

	// Watches of the registry, and the projection, run in the background
	// until close.
	ctx          context.Context
	stop         context.CancelFunc
	background   *errgroup.Group
	paymentSet   *watchSet
	inventorySet *watchSet
}

func newCheckout(ctx context.Context, cfg config) (*checkout, error) {
	c := &checkout{
		network:      new(cardNetwork),
		services:     map[string]*instance{},
		clock:        vclock.NewHLC(vclock.HLCConfig{}),
		transport:    &http.Transport{MaxIdleConnsPerHost: 16},
		codec:        orderCodec(),
		paymentSet:   newWatchSet(),
		inventorySet: newWatchSet(),
	}
	if err := c.openStore(cfg.DataDir); err != nil {
		return nil, err
	}
	carts, err := newCartStore(ctx, cartReplicas)
	if err != nil {
		return nil, errors.Join(err, c.store.Close())
	}
	c.carts = carts
	c.orders = eventsource.NewRepository(eventsource.RepositoryConfig[order]{Store: c.store, Codec: c.codec, Apply: applyOrder})
	c.projection = newProjection(c.codec)
	c.platform = newPlatform()
	c.discovery = discovery.NewClient(discovery.ClientConfig{URL: c.platform.server.URL, Token: registryToken})
	c.payments = newPaymentClient(c.transport, c.clock, cfg.Shoppers)
	c.inventory = &inventoryClient{http: &http.Client{Transport: c.transport, Timeout: 2 * time.Second}, shards: newShardMap()}

	ctx, c.stop = context.WithCancel(ctx)
	c.background, c.ctx = errgroup.WithContext(ctx)
	c.background.Go(func() error {
		return follow(c.ctx, c.discovery, "payment", toBalancer(c.payments.balancer), c.paymentSet)
	})
	c.background.Go(func() error {
		return follow(c.ctx, c.discovery, "inventory", c.inventory.shards.apply, c.inventorySet)
	})
	c.background.Go(func() error { return c.projection.run(c.ctx, c.store) })
	return c, nil
}

func (c *checkout) openStore(dir string) error {
	if dir == "" {
		m := eventsource.NewMemoryStore(eventsource.MemoryConfig{})
		c.store, c.storeStats, c.storeName = m, m.Stats, "in memory"
		return nil
	}
	// The default sync policy acknowledges an order's events only once
	// they are fsynced; concurrent orders share the fsyncs.
	f, err := eventsource.OpenFileStore(eventsource.FileConfig{Dir: dir})
	if err != nil {
		return err
	}
	c.store, c.storeStats, c.storeName = f, f.Stats, "in "+dir
	return nil
}

// startService runs a service instance and remembers it by ID.
func (c *checkout) startService(service, id string, h http.Handler) *instance {
	in := c.platform.start(c.ctx, service, id, h)
	c.services[id] = in
	return in
}

// close cancels the checkout's context, which ends the watches, the
// projection and the services' heartbeats (they deregister), waits for the
// watches and the projection so that none polls a closing registry, then
// closes the services, the registry and the store. It returns the failure
// of the background work, if any, before those of closing.
func (c *checkout) close() error {
	c.stop()
	err := c.background.Wait()
	err = errors.Join(err, c.platform.close(), c.store.Close())
	c.discovery.Close()
	c.transport.CloseIdleConnections()
	return err
}
