package shard

import (
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestConcurrentChangesAndLookups runs lookups on every partitioner while
// a writer keeps changing its membership. Each partitioner keeps one
// stable node, so every lookup must return a node of the universe, never
// "" or a torn state; the race detector checks the snapshots.
func TestConcurrentChangesAndLookups(t *testing.T) {
	universe := []string{"stable", "a", "b", "c", "d"}
	ring := NewRing(RingConfig{VirtualNodes: 64})
	maglev := NewMaglev(MaglevConfig{TableSize: 1009})
	var hrw Rendezvous
	var jump Jump
	ranges := NewRanges(RangesConfig{})
	cases := []struct {
		name   string
		p      Partitioner
		setup  func() error
		change func(i int) error
	}{
		{"ring", ring, func() error { return ring.Add("stable") }, func(i int) error {
			n := universe[1+(i/3)%4]
			switch i % 3 {
			case 0:
				return ring.Add(n)
			case 1:
				return ring.SetWeight(n, float64(1+i%5))
			default:
				return ring.Remove(n)
			}
		}},
		{"maglev", maglev, func() error { return maglev.Add("stable") }, func(i int) error {
			if n := universe[1+(i/2)%4]; i%2 == 0 {
				return maglev.Add(n)
			} else {
				return maglev.Remove(n)
			}
		}},
		{"rendezvous", &hrw, func() error { return hrw.Add("stable") }, func(i int) error {
			if n := universe[1+(i/2)%4]; i%2 == 0 {
				return hrw.AddWeighted(n, float64(1+i%3))
			} else {
				return hrw.Remove(n)
			}
		}},
		{"jump", &jump, func() error { return jump.Add("stable") }, func(i int) error {
			if n := universe[1+(i/2)%4]; i%2 == 0 {
				return jump.Add(n)
			} else {
				return jump.Remove(n)
			}
		}},
		{"ranges", ranges, func() error { return ranges.Assign("", "stable") }, func(i int) error {
			at := "k" + strconv.Itoa((i/2)%7)
			if i%2 == 0 {
				if err := ranges.Split(at); err != nil {
					return err
				}
				return ranges.Assign(at, universe[1+i%4])
			}
			return ranges.Merge(at)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.setup(); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Go(func() {
					buf := make([]string, 3)
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						key := strconv.Itoa(g*1_000_000 + i)
						if n := tc.p.Locate(key); !slices.Contains(universe, n) {
							t.Errorf("%s located %q at %q", tc.name, key, n)
							return
						}
						if n := tc.p.LocateBytes([]byte(key)); !slices.Contains(universe, n) {
							t.Errorf("%s located %q at %q", tc.name, key, n)
							return
						}
						if tc.name == "ring" {
							for _, n := range ring.Replicas(key, buf) {
								if !slices.Contains(universe, n) {
									t.Errorf("ring replica %q", n)
									return
								}
							}
						}
					}
				})
			}
			for i := range 600 {
				if err := tc.change(i); err != nil {
					t.Errorf("change %d: %v", i, err)
					break
				}
			}
			close(stop)
			wg.Wait()
			assert.Contains(t, nodesOf(tc.p), "stable", "the stable node is still a member")
		})
	}
}

func nodesOf(p Partitioner) []string {
	switch p := p.(type) {
	case *Ring:
		return p.Nodes()
	case *Maglev:
		return p.Nodes()
	case *Rendezvous:
		return p.Nodes()
	case *Jump:
		return p.Nodes()
	case *Ranges:
		var out []string
		for r := range p.All() {
			out = append(out, r.Node)
		}
		return out
	}
	return nil
}
