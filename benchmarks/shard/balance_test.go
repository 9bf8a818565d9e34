package shardbench

import (
	"strconv"
	"testing"
)

// TestBalance1000 measures every library's peak-to-mean load over 2^20
// keys and 1,000 nodes, and checks that distkit's ring is the most even.
// It takes a while (stathat alone re-sorts its ring a thousand times while
// it is built), so CI's benchmark run skips it; run it with
// go test -run Balance -v.
func TestBalance1000(t *testing.T) {
	nodes := nodeNames(1000)
	const n = 1 << 20
	p2m := map[string]float64{}
	for _, p := range peers {
		locate := p.build(t, nodes)
		loads := map[string]int{}
		for i := range n {
			loads[locate("user:"+strconv.Itoa(i))]++
		}
		peak := 0
		for _, l := range loads {
			peak = max(peak, l)
		}
		p2m[p.name] = float64(peak) / (float64(n) / float64(len(nodes)))
		t.Logf("%-10s peak-to-mean %.2f, %d of %d nodes own keys", p.name, p2m[p.name], len(loads), len(nodes))
	}
	for name, v := range p2m {
		if name != "distkit" && p2m["distkit"] >= v {
			t.Errorf("distkit's peak-to-mean %.3f is not below %s's %.3f", p2m["distkit"], name, v)
		}
	}
}
