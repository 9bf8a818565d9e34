package lb

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

func TestDecayMatchesExp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tau := float64(rapid.Int64Range(1, 1e12).Draw(t, "tau"))
		el := rapid.Int64Range(-10, 1e13).Draw(t, "el")
		want := math.Exp(-float64(max(el, 0)) / tau)
		if got := decay(el, tau); math.Abs(got-want) > 1e-9 {
			t.Fatalf("decay(%d, %v) = %v, want %v", el, tau, got, want)
		}
	})
}
