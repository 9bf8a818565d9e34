package lb

import "math/bits"

// divisor computes a%d without a division instruction (Lemire, Kaser and
// Kurz, "Faster Remainder by Direct Computation", 2019). A 64-bit DIV costs
// 30-90 cycles on common server CPUs, more than the rest of a weighted pick
// together; two multiplications of a precomputed 128-bit inverse cost a few.
type divisor struct {
	d        uint64
	mhi, mlo uint64 // ceil(2^128 / d), wrapped to 0 for d == 1
}

func newDivisor(d uint64) divisor {
	if d == 0 {
		panic("lb: internal error: divisor of zero")
	}
	// m = floor((2^128-1)/d) + 1, computed as two 64-bit long divisions.
	qhi, r := bits.Div64(0, ^uint64(0), d)
	qlo, _ := bits.Div64(r, ^uint64(0), d)
	mlo, carry := bits.Add64(qlo, 1, 0)
	return divisor{d: d, mhi: qhi + carry, mlo: mlo}
}

// mod returns a % v.d for every 64-bit a.
func (v divisor) mod(a uint64) uint64 {
	// low = (m * a) mod 2^128
	hi, lo := bits.Mul64(v.mlo, a)
	hi += v.mhi * a
	// result = floor(low * d / 2^128)
	carryHi, _ := bits.Mul64(lo, v.d)
	rhi, rlo := bits.Mul64(hi, v.d)
	_, carry := bits.Add64(rlo, carryHi, 0)
	return rhi + carry
}
