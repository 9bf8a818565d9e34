package shard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// ringMachine drives a Ring through random changes and checks it against
// the oracle, against a ring built from scratch, and for the movement
// guarantees of each change.
type ringMachine struct {
	cfg     RingConfig
	weak    bool
	r       *Ring
	weights map[string]float64
	rng     *rand.Rand
}

var machineNames = func() []string {
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i)
	}
	return names
}()

func newRingMachine(t *rapid.T) *ringMachine {
	m := &ringMachine{
		cfg:     RingConfig{VirtualNodes: rapid.IntRange(1, 12).Draw(t, "vnodes")},
		weak:    rapid.Bool().Draw(t, "collisions"),
		weights: map[string]float64{},
		rng:     rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1)),
	}
	m.r = m.fresh()
	return m
}

// fresh returns an empty ring with the machine's config and point hash.
func (m *ringMachine) fresh() *Ring {
	r := NewRing(m.cfg)
	if m.weak {
		r.pointHash = weakPointHash
	}
	return r
}

var machineWeights = []float64{0.25, 0.5, 1, 1.5, 3}

// change applies op to the ring and checks that keys moved only to or from
// the changed nodes, and that preference lists only gained or lost them.
func (m *ringMachine) change(t *rapid.T, changed []string, op func() error) {
	before := m.r.Clone()
	if err := op(); err != nil {
		t.Fatalf("change of %v failed: %v", changed, err)
	}
	plan, err := Diff(before, m.r)
	if err != nil {
		t.Fatalf("Diff of two rings failed: %v", err)
	}
	for _, mv := range plan {
		if !slices.Contains(changed, mv.From) && !slices.Contains(changed, mv.To) {
			t.Fatalf("keys %#x-%#x moved from %q to %q; only %v changed", mv.First, mv.Last, mv.From, mv.To, changed)
		}
	}
	// Dropping the changed nodes from the longer list gives a prefix of the
	// shorter one: nobody else swaps places.
	a, b := make([]string, 5), make([]string, 5)
	for range 10 {
		h := m.rng.Uint64()
		old := slices.DeleteFunc(slices.Clone(before.ReplicasHash(h, a)), func(n string) bool { return slices.Contains(changed, n) })
		cur := slices.DeleteFunc(slices.Clone(m.r.ReplicasHash(h, b)), func(n string) bool { return slices.Contains(changed, n) })
		short, long := old, cur
		if len(short) > len(long) {
			short, long = long, short
		}
		if !slices.Equal(short, long[:len(short)]) {
			t.Fatalf("preference list of %#x went from %v to %v when %v changed", h, old, cur, changed)
		}
	}
}

func (m *ringMachine) Add(t *rapid.T) {
	name := rapid.SampledFrom(machineNames).Draw(t, "name")
	w := rapid.SampledFrom(machineWeights).Draw(t, "weight")
	if _, ok := m.weights[name]; ok {
		if err := m.r.AddWeighted(name, w); err == nil {
			t.Fatalf("adding member %q again succeeded", name)
		}
		return
	}
	m.change(t, []string{name}, func() error { return m.r.AddWeighted(name, w) })
	m.weights[name] = w
}

func (m *ringMachine) AddMany(t *rapid.T) {
	var names []string
	for _, n := range machineNames {
		if _, ok := m.weights[n]; !ok && rapid.Bool().Draw(t, "pick "+n) {
			names = append(names, n)
		}
	}
	m.change(t, names, func() error { return m.r.Add(names...) })
	for _, n := range names {
		m.weights[n] = 1
	}
}

func (m *ringMachine) Remove(t *rapid.T) {
	name := rapid.SampledFrom(machineNames).Draw(t, "name")
	if _, ok := m.weights[name]; !ok {
		if err := m.r.Remove(name); err == nil {
			t.Fatalf("removing non-member %q succeeded", name)
		}
		return
	}
	m.change(t, []string{name}, func() error { return m.r.Remove(name) })
	delete(m.weights, name)
}

func (m *ringMachine) SetWeight(t *rapid.T) {
	name := rapid.SampledFrom(machineNames).Draw(t, "name")
	w := rapid.SampledFrom(machineWeights).Draw(t, "weight")
	if _, ok := m.weights[name]; !ok {
		if err := m.r.SetWeight(name, w); err == nil {
			t.Fatalf("reweighting non-member %q succeeded", name)
		}
		return
	}
	m.change(t, []string{name}, func() error { return m.r.SetWeight(name, w) })
	m.weights[name] = w
}

// Check compares the ring with the oracle and with a ring built from the
// membership alone: the ring depends only on who its members are.
func (m *ringMachine) Check(t *rapid.T) {
	s := m.r.snap.Load()
	checkSnap(t, s)
	o := newOracle(m.r, m.weights)
	hs := []uint64{0, ^uint64(0)}
	for range 16 {
		hs = append(hs, m.rng.Uint64())
	}
	for range min(16, len(o.points)) {
		p := o.points[m.rng.IntN(len(o.points))].hash
		hs = append(hs, p, p-1, p+1)
	}
	buf := make([]string, 3)
	for _, h := range hs {
		if got, want := m.r.LocateHash(h), o.locate(h); got != want {
			t.Fatalf("LocateHash(%#x) = %q, oracle says %q", h, got, want)
		}
		if got, want := m.r.ReplicasHash(h, buf), o.replicas(h, 3); len(want) > 0 && !slices.Equal(got, want) {
			t.Fatalf("ReplicasHash(%#x) = %v, oracle says %v", h, got, want)
		}
	}
	scratch := m.fresh()
	names := make([]string, 0, len(m.weights))
	for n := range m.weights {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := scratch.AddWeighted(n, m.weights[n]); err != nil {
			t.Fatalf("building from scratch: %v", err)
		}
	}
	if got, want := slices.Collect(m.r.Spans()), slices.Collect(scratch.Spans()); !slices.Equal(got, want) {
		t.Fatalf("ring after changes owns %v, built from scratch %v", got, want)
	}
	if m.r.Len() != len(m.weights) {
		t.Fatalf("Len() = %d, want %d", m.r.Len(), len(m.weights))
	}
}

// TestRingStateMachine runs rapid's default 100 random change sequences
// (about 30 changes each) over rings of 1 to 12 points per node, half of
// them with point hashes forced to collide.
func TestRingStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		t.Repeat(rapid.StateMachineActions(newRingMachine(t)))
	})
}
