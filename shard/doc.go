// Package shard maps keys to nodes: which cache holds a key, which database
// shard stores a user, which worker owns a session. It offers five
// partitioners behind one small interface, [Partitioner], and movement
// plans that say which data to migrate before a membership change.
//
// # Choosing a partitioner
//
//   - [Ring] is the default: consistent hashing with virtual nodes,
//     weights, preference lists for replicas ([Ring.Replicas]), bounded
//     loads ([Bounded]) and movement plans ([Diff]). With the default 1,024
//     points per node, 1M keys spread with a peak-to-mean load of 1.07 over
//     100 nodes and 1.12 over 1,000; a join or leave moves 1.01-1.04 times
//     the minimal share of keys, all to or from the changed node. It costs
//     8 bytes per point (8 MB at 1,000 nodes).
//   - [Rendezvous] (highest random weight) needs no tables, balances to
//     1.03 at 100 nodes and moves the minimum, but a lookup scores every
//     node: a few ns per node. Good up to a few hundred nodes.
//   - [Maglev] looks up in constant time with near-perfect balance (1.03 at
//     100 nodes), but a change reshuffles some keys between nodes that stay:
//     1.6x the minimal movement at 100 nodes, 6x at 1,000 with the default
//     table. Good for stateless routing.
//   - [Jump] and [JumpHash] map keys to numbered buckets with perfect
//     balance, no memory and minimal movement, but only add or remove the
//     last bucket. Good for a fixed set of numbered shards.
//   - [Ranges] keeps neighboring keys together ("users 1-1000 on shard 1"),
//     so scans touch few nodes; splits, merges and assignments are explicit
//     and balancing is the operator's job.
//
// # Guarantees
//
// Every partitioner depends only on its membership (names and weights),
// never on the order of changes or on the process, so every process that
// applies the same membership maps every key the same way. Keys are hashed
// with xxHash64 ([HashString], [Hash]); the LocateHash methods take a
// precomputed hash. Virtual nodes that collide on the same hash are ordered
// by node name, so colliding nodes never corrupt each other on removal.
//
// Each partitioner keeps an immutable snapshot behind an atomic pointer:
// lookups are lock-free, do not allocate and never observe half a change;
// changes are serialized by a mutex and build the next snapshot. Changes
// are all-or-nothing: a change that fails returns an error and leaves the
// partitioner as it was. Nothing in the package panics on bad input: names,
// weights, keys and sizes are validated, and errors wrap the sentinels
// below (ErrEmptyNode, ErrNodeExists, ...) inside a [*NodeError] or
// [*RangeError] naming the culprit. Constructors panic only on an invalid
// config, which Validate reports as an error first.
//
// # Limits
//
// Memory is bounded whatever the input: a Ring holds at most
// RingConfig.MaxPoints points (DefaultMaxPoints, 8M: about 64 MB), a
// Maglev table at most MaxMaglevTableSize slots, a Ranges at most
// RangesConfig.MaxRanges ranges (DefaultMaxRanges) with split points of
// at most RangesConfig.MaxKeyLen bytes (DefaultMaxKeyLen), a Ring at most
// 65,536 nodes, a Maglev 65,535, and the others at most MaxNodes.
//
// # Compatibility
//
// Placements are specific to this package (point positions, the
// nearest-point rule, the jump realization); do not expect another
// library, or another language, to place keys identically.
package shard
