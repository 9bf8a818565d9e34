package shard

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
)

// Span is a contiguous range of key hashes, First through Last inclusive,
// owned by one node. Inclusive bounds let a span reach the top of the hash
// space.
type Span struct {
	First, Last uint64
	Node        string
}

// Contains reports whether the key hash h falls in the span.
func (s Span) Contains(h uint64) bool { return s.First <= h && h <= s.Last }

// Fraction returns the share of the hash space the span covers, in (0, 1].
func (s Span) Fraction() float64 { return (float64(s.Last-s.First) + 1) / math.Exp2(64) }

// Spanner is a partitioner whose ownership is a sequence of hash ranges:
// [Ring] and [Maglev]. Spans yields spans in increasing hash order that
// cover the whole hash space from 0 to 2^64-1 without gaps or overlaps,
// each owned by a single node; an empty partitioner yields nothing.
type Spanner interface {
	Spans() iter.Seq[Span]
}

// Move is one hash range whose keys change owner, from From to To. From is
// "" when the old partitioner had no nodes, To is "" when the new one has
// none.
type Move struct {
	First, Last uint64
	From, To    string
}

// Contains reports whether the key hash h falls in the move's range.
func (m Move) Contains(h uint64) bool { return m.First <= h && h <= m.Last }

// Plan is a movement plan: the hash ranges that change owner between two
// memberships, in increasing hash order, adjacent ranges with the same From
// and To merged. A service migrates the data of each Move before it
// switches to the new membership.
type Plan []Move

// Find returns the move covering the key hash h, if h moves.
func (p Plan) Find(h uint64) (Move, bool) {
	i, found := slices.BinarySearchFunc(p, h, func(m Move, h uint64) int {
		switch {
		case m.Last < h:
			return -1
		case m.First > h:
			return 1
		}
		return 0
	})
	if !found {
		return Move{}, false
	}
	return p[i], true
}

// Fraction returns the share of the hash space that moves; with uniformly
// hashed keys it is the expected share of keys that move.
func (p Plan) Fraction() float64 {
	var f float64
	for _, m := range p {
		f += (float64(m.Last-m.First) + 1) / math.Exp2(64)
	}
	return f
}

// ErrBadSpans reports a Spanner whose spans do not cover the hash space in
// order, as the Spanner contract requires.
var ErrBadSpans = errors.New("shard: spans do not tile the hash space")

// Diff computes the plan that takes keys from the ownership of from to that
// of to: every hash range whose owner differs. Build the new membership on
// a copy (Ring.Clone, or a second Maglev), Diff it against the live one,
// migrate, then apply the change to the live partitioner.
//
// It returns ErrBadSpans (wrapped with the offending span) if either
// spanner breaks the Spanner contract. The plan has at most one move per
// span of either side.
func Diff(from, to Spanner) (Plan, error) {
	a, stopA := iter.Pull(tiles(from.Spans()))
	defer stopA()
	b, stopB := iter.Pull(tiles(to.Spans()))
	defer stopB()
	var plan Plan
	sa, okA := a()
	sb, okB := b()
	for okA && okB {
		if sa.err != nil {
			return nil, sa.err
		}
		if sb.err != nil {
			return nil, sb.err
		}
		last := min(sa.Last, sb.Last)
		first := max(sa.First, sb.First)
		if sa.Node != sb.Node {
			if n := len(plan); n > 0 && plan[n-1].Last+1 == first &&
				plan[n-1].From == sa.Node && plan[n-1].To == sb.Node {
				plan[n-1].Last = last
			} else {
				plan = append(plan, Move{First: first, Last: last, From: sa.Node, To: sb.Node})
			}
		}
		if last == math.MaxUint64 {
			break
		}
		if sa.Last == last {
			sa, okA = a()
		}
		if sb.Last == last {
			sb, okB = b()
		}
	}
	// Both sides ended at the top of the hash space; anything after that
	// breaks the contract.
	for _, next := range []func() (checkedSpan, bool){a, b} {
		if s, ok := next(); ok {
			return nil, s.err
		}
	}
	return plan, nil
}

// checkedSpan is a span, or the error that the sequence broke the
// contract.
type checkedSpan struct {
	Span
	err error
}

// tiles checks that spans tile the hash space and yields them; an empty
// sequence becomes one unowned span, so Diff can treat both sides alike.
func tiles(spans iter.Seq[Span]) iter.Seq[checkedSpan] {
	return func(yield func(checkedSpan) bool) {
		next := uint64(0) // first hash not yet covered
		done := false
		for s := range spans {
			if done || s.First != next || s.Last < s.First {
				yield(checkedSpan{err: fmt.Errorf("%w: %+v after %d", ErrBadSpans, s, next)})
				return
			}
			if !yield(checkedSpan{Span: s}) {
				return
			}
			next, done = s.Last+1, s.Last == math.MaxUint64
		}
		switch {
		case next == 0 && !done:
			yield(checkedSpan{Span: Span{First: 0, Last: math.MaxUint64}})
		case !done:
			yield(checkedSpan{err: fmt.Errorf("%w: coverage ends at %d", ErrBadSpans, next-1)})
		}
	}
}
