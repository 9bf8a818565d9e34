package lb

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// cycleCounter hands out positions in a cycle of d slots, d < 2^31, to
// concurrent picks with one atomic increment and no division.
//
// A 64-bit DIV costs 30-90 cycles on common server CPUs, more than the
// rest of a weighted pick together, so the remainder is computed as in
// Lemire, Kaser and Kurz, "Faster Remainder by Direct Computation" (2019):
// two multiplications by a precomputed inverse, valid for 32-bit numerators.
// The counter is kept below 2^32 by subtracting wrap, a multiple of d, once
// it reaches wrap: exactly one pick draws the value wrap itself and
// subtracts it, and every pick reduces its own value, so the sequence of
// positions never jumps.
type cycleCounter struct {
	d    uint64
	m    uint64 // ceil(2^64 / d), wrapped to 0 for d == 1
	wrap uint64 // the largest multiple of d not above 2^31
}

func newCycleCounter(d uint64) cycleCounter {
	if d == 0 || d >= 1<<31 {
		panic("lb: internal error: cycle length out of range")
	}
	return cycleCounter{d: d, m: math.MaxUint64/d + 1, wrap: (1 << 31) / d * d}
}

// next advances counter and returns the position it lands on.
func (c cycleCounter) next(counter *atomic.Uint64) uint64 {
	t := counter.Add(1)
	if t >= c.wrap {
		t = c.reduce(counter, t)
	}
	return c.mod(t)
}

// mod returns t % d for t < 2^32.
func (c cycleCounter) mod(t uint64) uint64 {
	hi, _ := bits.Mul64(c.m*t, c.d)
	return hi
}

// reduce handles the rare pick that drew t >= c.wrap: the pick that drew a
// multiple of wrap takes wrap off the shared counter, and every such pick
// uses t modulo wrap, which is the same position in the cycle.
func (c cycleCounter) reduce(counter *atomic.Uint64, t uint64) uint64 {
	if t%c.wrap == 0 {
		counter.Add(-c.wrap)
	}
	return t % c.wrap
}
