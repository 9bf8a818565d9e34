package shard

import (
	"errors"
	"fmt"
	"math"

	"github.com/cespare/xxhash/v2"
)

// Partitioner maps a key to the node that owns it. [Ring], [Maglev],
// [Jump], [Rendezvous] and [Ranges] implement it, so a service can switch
// algorithms without touching its call sites.
//
// Locate returns "" when the partitioner has no node for the key (it is
// empty, or for [Ranges] the key's range is unassigned); node names are
// never empty. Implementations are safe for concurrent use, and lookups
// never block on, or observe half of, a concurrent membership change.
type Partitioner interface {
	Locate(key string) string
	LocateBytes(key []byte) string
}

// Errors returned by membership changes. Each is returned wrapped in a
// *NodeError that names the node, so use errors.Is to test for them.
var (
	// ErrEmptyNode reports a node name that is the empty string.
	ErrEmptyNode = errors.New("shard: empty node name")
	// ErrNodeExists reports an Add of a node that is already a member.
	ErrNodeExists = errors.New("shard: node already present")
	// ErrNodeNotFound reports a change to a node that is not a member.
	ErrNodeNotFound = errors.New("shard: node not found")
	// ErrBadWeight reports a weight that is not a finite number > 0.
	ErrBadWeight = errors.New("shard: weight must be finite and greater than zero")
	// ErrTooManyPoints reports a Ring change that would exceed
	// RingConfig.MaxPoints.
	ErrTooManyPoints = errors.New("shard: too many ring points")
	// ErrTooManyNodes reports a change that would give a partitioner more
	// nodes than it can hold: more than MaxNodes, more than 65,536 on a
	// Ring, or on a Maglev more than 65,535 or than its table's slots.
	ErrTooManyNodes = errors.New("shard: too many nodes")
	// ErrNotLast reports a Jump removal of a node other than the last one:
	// jump hash only grows and shrinks at the end.
	ErrNotLast = errors.New("shard: jump hash can only remove its last node")
	// ErrNoNodes reports a placement on a partitioner with no nodes.
	ErrNoNodes = errors.New("shard: no nodes")
	// ErrBadConfig reports an invalid config field; the error wrapping it
	// names the field.
	ErrBadConfig = errors.New("shard: invalid config")
)

// MaxNodes is the largest number of nodes a Rendezvous or Jump holds (a
// Ring holds at most 65,536 and a Maglev 65,535, the indexes their tables
// can name). A membership that large is a configuration error rather than
// a cluster.
const MaxNodes = 1 << 20

// NodeError is the error a membership change returns: the node it was
// about and the reason, one of the Err values of this package.
type NodeError struct {
	Node string
	Err  error
}

// Error gives the reason and the node name, shortened if it is long.
func (e *NodeError) Error() string { return fmt.Sprintf("%v: %q", e.Err, clip(e.Node)) }

// clip shortens a user string for an error message, so a huge name or key
// does not make a huge error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Unwrap returns the reason, so errors.Is(err, ErrNodeExists) works.
func (e *NodeError) Unwrap() error { return e.Err }

func nodeErr(node string, err error) error { return &NodeError{Node: node, Err: err} }

// HashString returns the 64-bit hash every partitioner in this package
// applies to a string key (xxHash64). Pass it to the LocateHash methods to
// hash a key once and look it up in several places.
func HashString(key string) uint64 { return xxhash.Sum64String(key) }

// Hash returns the 64-bit hash of a []byte key; Hash(b) ==
// HashString(string(b)).
func Hash(key []byte) uint64 { return xxhash.Sum64(key) }

// checkWeight validates a node weight.
func checkWeight(node string, w float64) error {
	if !(w > 0) || math.IsInf(w, 0) {
		return nodeErr(node, ErrBadWeight)
	}
	return nil
}

// checkName validates a node name.
func checkName(node string) error {
	if node == "" {
		return nodeErr(node, ErrEmptyNode)
	}
	return nil
}

// mix64 is a bijective 64-bit finalizer (the SplitMix64 output function):
// every input bit affects every output bit, so structured inputs (small
// integers, XORed seeds) come out uniformly spread.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// golden is 2^64 divided by the golden ratio; adding it steps a SplitMix64
// sequence.
const golden = 0x9e3779b97f4a7c15
