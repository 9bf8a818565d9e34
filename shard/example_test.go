package shard_test

import (
	"fmt"
	"math"

	"github.com/distkit/distkit/shard"
)

// A Ring spreads keys over nodes; every process that builds a ring with
// the same members maps every key the same way.
func ExampleRing() {
	ring := shard.NewRing(shard.RingConfig{})
	if err := ring.Add("cache-a", "cache-b", "cache-c"); err != nil {
		panic(err)
	}
	for _, key := range []string{"user:1", "user:2", "user:3", "user:4"} {
		fmt.Println(key, "->", ring.Locate(key))
	}
	// Output:
	// user:1 -> cache-c
	// user:2 -> cache-b
	// user:3 -> cache-b
	// user:4 -> cache-c
}

// Replicas gives a key's preference list: where to store its copies.
func ExampleRing_Replicas() {
	ring := shard.NewRing(shard.RingConfig{})
	if err := ring.Add("db-1", "db-2", "db-3", "db-4", "db-5"); err != nil {
		panic(err)
	}
	copies := make([]string, 3) // reuse the buffer: Replicas does not allocate
	fmt.Println(ring.Replicas("order:1001", copies))
	// Output:
	// [db-3 db-5 db-1]
}

// A node of weight 2 gets about twice the keys of a node of weight 1.
func ExampleRing_AddWeighted() {
	ring := shard.NewRing(shard.RingConfig{})
	if err := ring.Add("small"); err != nil {
		panic(err)
	}
	if err := ring.AddWeighted("big", 2); err != nil {
		panic(err)
	}
	counts := map[string]int{}
	for i := range 30000 {
		counts[ring.Locate(fmt.Sprint("key-", i))]++
	}
	fmt.Printf("big %.1f%%, small %.1f%%\n", float64(counts["big"])/300, float64(counts["small"])/300)
	// Output:
	// big 65.5%, small 34.5%
}

// Diff plans a migration: build the next membership on a clone, list the
// hash ranges that change owner, copy their data, then switch.
func ExampleDiff() {
	live := shard.NewRing(shard.RingConfig{})
	if err := live.Add("node-1", "node-2"); err != nil {
		panic(err)
	}
	next := live.Clone()
	if err := next.Add("node-3"); err != nil {
		panic(err)
	}
	plan, err := shard.Diff(live, next)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d ranges, %.1f%% of the keys, all to node-3\n", len(plan), plan.Fraction()*100)
	m := plan[0]
	fmt.Printf("first: %016x-%016x %s -> %s\n", m.First, m.Last, m.From, m.To)
	// A key moves if its hash falls in a move.
	if m, ok := plan.Find(shard.HashString("user:42")); ok {
		fmt.Println("user:42 moves from", m.From, "to", m.To)
	} else {
		fmt.Println("user:42 stays on", live.Locate("user:42"))
	}
	// Output:
	// 1065 ranges, 33.1% of the keys, all to node-3
	// first: 0004149bab820000-000af22da96effff node-1 -> node-3
	// user:42 stays on node-2
}

// Bounded caps every node at ceil(c * mean) keys while keeping most keys
// on their natural node.
func ExampleBounded() {
	ring := shard.NewRing(shard.RingConfig{})
	if err := ring.Add("worker-1", "worker-2", "worker-3", "worker-4"); err != nil {
		panic(err)
	}
	b := shard.NewBounded(ring, shard.BoundedConfig{CapacityFactor: 1.1})
	for i := range 1000 {
		if _, err := b.Assign(fmt.Sprint("session-", i)); err != nil {
			panic(err)
		}
	}
	st := b.Stats()
	fmt.Println("assigned", st.Assigned, "busiest", st.MaxLoad, "cap", math.Ceil(1.1*1000/4))
	// Output:
	// assigned 1000 busiest 267 cap 275
}

// JumpHash maps a key to one of n numbered buckets; growing to n+1 moves
// only the keys that go to the new bucket.
func ExampleJumpHash() {
	for key := range uint64(8) {
		fmt.Printf("key %d: %d of 4, %d of 5\n", key, shard.JumpHash(key, 4), shard.JumpHash(key, 5))
	}
	// Output:
	// key 0: 3 of 4, 4 of 5
	// key 1: 1 of 4, 1 of 5
	// key 2: 3 of 4, 4 of 5
	// key 3: 1 of 4, 1 of 5
	// key 4: 3 of 4, 3 of 5
	// key 5: 3 of 4, 3 of 5
	// key 6: 0 of 4, 0 of 5
	// key 7: 2 of 4, 4 of 5
}

// Jump names its numbered buckets; it grows and shrinks at the end.
func ExampleJump() {
	var shards shard.Jump
	if err := shards.Add("shard-0", "shard-1", "shard-2"); err != nil {
		panic(err)
	}
	fmt.Println(shards.Locate("user:42"))
	fmt.Println(shards.Remove("shard-1"))
	// Output:
	// shard-0
	// shard: jump hash can only remove its last node: "shard-1"
}

// Rendezvous (highest random weight) needs no tables and moves the
// fewest keys, at a lookup cost linear in the node count.
func ExampleRendezvous() {
	var r shard.Rendezvous
	if err := r.Add("edge-1", "edge-2", "edge-3"); err != nil {
		panic(err)
	}
	fmt.Println(r.Locate("video:7"), r.Replicas("video:7", make([]string, 2)))
	// Output:
	// edge-3 [edge-3 edge-2]
}

// Maglev looks up in constant time with near-perfect balance.
func ExampleMaglev() {
	m := shard.NewMaglev(shard.MaglevConfig{})
	if err := m.Add("lb-1", "lb-2", "lb-3"); err != nil {
		panic(err)
	}
	st := m.Stats()
	fmt.Println(m.Locate("flow:10.0.0.1:5555"), st.MinSlots, st.MaxSlots)
	// Output:
	// lb-1 21845 21846
}

// Ranges keeps neighboring keys together: "users 0-999 on shard 1".
func ExampleRanges() {
	r := shard.NewRanges(shard.RangesConfig{})
	// Fixed-width keys sort numerically.
	if err := r.Assign("", "shard-1"); err != nil {
		panic(err)
	}
	if err := r.Split("user:001000"); err != nil {
		panic(err)
	}
	if err := r.Assign("user:001000", "shard-2"); err != nil {
		panic(err)
	}
	fmt.Println(r.Locate("user:000999"), r.Locate("user:001000"), r.Locate("user:123456"))
	for rg := range r.All() {
		fmt.Printf("[%q, %q) %s\n", rg.Start, rg.End, rg.Node)
	}
	// Output:
	// shard-1 shard-2 shard-2
	// ["", "user:001000") shard-1
	// ["user:001000", "") shard-2
}

// DiffRanges lists the key ranges a reassignment moves.
func ExampleDiffRanges() {
	before := shard.NewRanges(shard.RangesConfig{})
	if err := before.Assign("", "shard-1"); err != nil {
		panic(err)
	}
	after := shard.NewRanges(shard.RangesConfig{})
	if err := after.Assign("", "shard-1"); err != nil {
		panic(err)
	}
	if err := after.Split("m"); err != nil {
		panic(err)
	}
	if err := after.Assign("m", "shard-2"); err != nil {
		panic(err)
	}
	for _, m := range shard.DiffRanges(before, after) {
		fmt.Printf("[%q, %q) %s -> %s\n", m.Start, m.End, m.From, m.To)
	}
	// Output:
	// ["m", "") shard-1 -> shard-2
}
