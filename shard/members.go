package shard

import (
	"slices"
	"strings"
)

// members is an immutable membership list sorted by name. Maglev and
// Rendezvous derive their lookup state from it, so the state depends only
// on who the members are, never on the order they joined.
type members struct {
	names   []string
	weights []float64
}

func (m members) index(name string) (int, bool) {
	return slices.BinarySearch(m.names, name)
}

// weight returns a member's weight.
func (m members) weight(name string) (float64, bool) {
	if i, ok := m.index(name); ok {
		return m.weights[i], true
	}
	return 0, false
}

// uniform reports whether every member has the same weight.
func (m members) uniform() bool {
	for _, w := range m.weights {
		if w != m.weights[0] {
			return false
		}
	}
	return true
}

// with returns m plus the named nodes at the given weight. It validates
// every node first and returns m unchanged with an error if any is bad.
func (m members) with(nodes []string, weight float64, limit int) (members, error) {
	if len(nodes) > 0 && len(m.names)+len(nodes) > limit {
		return m, nodeErr(nodes[0], ErrTooManyNodes)
	}
	added := slices.Clone(nodes)
	slices.Sort(added)
	for i, n := range added {
		if err := checkName(n); err != nil {
			return m, err
		}
		if err := checkWeight(n, weight); err != nil {
			return m, err
		}
		if _, ok := m.index(n); ok || (i > 0 && added[i-1] == n) {
			return m, nodeErr(n, ErrNodeExists)
		}
	}
	next := members{
		names:   make([]string, 0, len(m.names)+len(added)),
		weights: make([]float64, 0, len(m.names)+len(added)),
	}
	i, j := 0, 0
	for i < len(m.names) || j < len(added) {
		if j == len(added) || (i < len(m.names) && strings.Compare(m.names[i], added[j]) < 0) {
			next.names = append(next.names, m.names[i])
			next.weights = append(next.weights, m.weights[i])
			i++
		} else {
			next.names = append(next.names, added[j])
			next.weights = append(next.weights, weight)
			j++
		}
	}
	return next, nil
}

// without returns m minus the named nodes; every one must be a member.
func (m members) without(nodes []string) (members, error) {
	drop := make(map[int]struct{}, len(nodes))
	for _, n := range nodes {
		i, ok := m.index(n)
		if !ok {
			return m, nodeErr(n, ErrNodeNotFound)
		}
		drop[i] = struct{}{}
	}
	next := members{
		names:   make([]string, 0, len(m.names)-len(drop)),
		weights: make([]float64, 0, len(m.names)-len(drop)),
	}
	for i := range m.names {
		if _, ok := drop[i]; !ok {
			next.names = append(next.names, m.names[i])
			next.weights = append(next.weights, m.weights[i])
		}
	}
	return next, nil
}

// reweighted returns m with one member's weight changed.
func (m members) reweighted(node string, weight float64) (members, error) {
	if err := checkWeight(node, weight); err != nil {
		return m, err
	}
	i, ok := m.index(node)
	if !ok {
		return m, nodeErr(node, ErrNodeNotFound)
	}
	next := members{names: m.names, weights: slices.Clone(m.weights)}
	next.weights[i] = weight
	return next, nil
}
