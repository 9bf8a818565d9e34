package main

import (
	"context"
	"slices"
	"sync"

	"github.com/distkit/distkit/discovery"
	"github.com/distkit/distkit/shard"
	"github.com/distkit/distkit/vclock"
)

// cartCopies is how many replicas hold each cart, Dynamo-style: the first
// nodes of the cart's preference list on the ring.
const cartCopies = 2

// cartReplica is one replica of a leaderless cart store. Any replica of a
// cart accepts writes for it; a DVVSet per cart keeps concurrent writes
// as siblings instead of letting one overwrite the other.
type cartReplica struct {
	name  string
	actor vclock.Actor // one actor per replica, however many clients write

	mu    sync.Mutex
	carts map[string]vclock.DVVSet[[]string]
}

func (r *cartReplica) get(customer string) vclock.DVVSet[[]string] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.carts[customer]
}

// put writes items for a client that read context seen: the siblings the
// client saw are replaced, the ones it did not see are kept.
func (r *cartReplica) put(customer string, seen vclock.Clock, items []string) (vclock.DVVSet[[]string], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, _, err := r.carts[customer].Put(r.actor, seen, items)
	if err != nil {
		return r.carts[customer], err
	}
	r.carts[customer] = next
	return next, nil
}

// merge takes in another replica's state of a cart (anti-entropy).
func (r *cartReplica) merge(customer string, other vclock.DVVSet[[]string]) vclock.DVVSet[[]string] {
	r.mu.Lock()
	defer r.mu.Unlock()
	merged := r.carts[customer].Sync(other)
	r.carts[customer] = merged
	return merged
}

// cartReplicas is the cart store's membership as a configuration file
// would list it. discovery.Static serves it behind the same Resolver
// interface as the registry, so the store would not change if the
// replicas moved into the registry.
var cartReplicas = discovery.NewStatic(
	discovery.Instance{Service: "cart", ID: "cart-1", Address: "in-process"},
	discovery.Instance{Service: "cart", ID: "cart-2", Address: "in-process"},
	discovery.Instance{Service: "cart", ID: "cart-3", Address: "in-process"},
)

// cartStore places carts on replicas with a consistent-hash ring.
type cartStore struct {
	ring     *shard.Ring
	replicas map[string]*cartReplica
}

func newCartStore(ctx context.Context, src discovery.Resolver) (*cartStore, error) {
	instances, err := src.Resolve(ctx, "cart")
	if err != nil {
		return nil, err
	}
	s := &cartStore{ring: shard.NewRing(shard.RingConfig{}), replicas: make(map[string]*cartReplica, len(instances))}
	for i, in := range instances {
		// Small dense actor ids keep version vectors short. The list is
		// sorted by ID, so a replica keeps its actor while the list stays.
		s.replicas[in.ID] = &cartReplica{name: in.ID, actor: vclock.Actor(i + 1), carts: map[string]vclock.DVVSet[[]string]{}}
		if err := s.ring.Add(in.ID); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// holders returns the replicas of customer's cart, preferred first.
func (s *cartStore) holders(customer string) []*cartReplica {
	var buf [cartCopies]string
	names := s.ring.Replicas(customer, buf[:])
	out := make([]*cartReplica, len(names))
	for i, name := range names {
		out[i] = s.replicas[name]
	}
	return out
}

// add puts sku in customer's cart through replica via, as a client that
// first reads the cart there and then writes it back.
func (s *cartStore) add(customer string, via *cartReplica, sku string) (vclock.DVVSet[[]string], error) {
	cur := via.get(customer)
	items := union(cur.Values())
	if !slices.Contains(items, sku) {
		items = append(items, sku)
		slices.Sort(items)
	}
	return via.put(customer, cur.Context(), items)
}

// sync brings every replica of customer's cart to the merge of all of them.
func (s *cartStore) sync(customer string) vclock.DVVSet[[]string] {
	holders := s.holders(customer)
	var all vclock.DVVSet[[]string]
	for _, r := range holders {
		all = all.Sync(r.get(customer))
	}
	for _, r := range holders {
		all = r.merge(customer, all)
	}
	return all
}

// checkout reads customer's cart the way the order service does: siblings
// are resolved by union (an item added anywhere stays added), and the
// resolution is written back under the context of everything read, so
// the siblings collapse into one value on every replica. The context
// returned is what the order saw, for empty.
func (s *cartStore) checkout(customer string) ([]string, vclock.Clock, error) {
	cur := s.sync(customer)
	items := union(cur.Values())
	if cur.Len() > 1 {
		written, err := s.holders(customer)[0].put(customer, cur.Context(), items)
		if err != nil {
			return nil, vclock.Clock{}, err
		}
		cur = written
		s.sync(customer)
	}
	return items, cur.Context(), nil
}

// empty deletes from customer's cart what an order took: the values that
// context seen covers. An item added after the order read the cart is a
// write seen does not cover, so it survives for the next order.
func (s *cartStore) empty(customer string, seen vclock.Clock) {
	r := s.holders(customer)[0]
	r.mu.Lock()
	r.carts[customer] = r.carts[customer].Delete(seen)
	r.mu.Unlock()
	s.sync(customer)
}

// items returns what customer's cart holds now, siblings merged.
func (s *cartStore) items(customer string) []string {
	return union(s.sync(customer).Values())
}

// union merges siblings into one sorted list of distinct items.
func union(siblings [][]string) []string {
	var out []string
	for _, items := range siblings {
		out = append(out, items...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
