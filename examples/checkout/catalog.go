package main

import (
	"fmt"
	"math/rand/v2"
)

// product is one SKU of the shop.
type product struct {
	sku   string
	cents int64
	stock int
}

// catalog is the shop. Vinyl is scarce, so the lunch rush sells it out.
var catalog = []product{
	{"book", 1200, 100},
	{"lamp", 3500, 100},
	{"mug", 850, 100},
	{"pen", 250, 100},
	{"tea", 600, 100},
	{"vinyl", 2900, 3},
}

func priceOf(items []string) int64 {
	var total int64
	for _, sku := range items {
		for _, p := range catalog {
			if p.sku == sku {
				total += p.cents
			}
		}
	}
	return total
}

var names = []string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "ken", "liz", "mike", "nina", "olga", "pete",
}

// shopper names the i-th shopper of the rush (from 0).
func shopper(i int) string {
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("shopper-%d", i+1)
}

// pickItems chooses one to three distinct SKUs.
func pickItems(r *rand.Rand) []string {
	perm := r.Perm(len(catalog))[:1+r.IntN(3)]
	items := make([]string, len(perm))
	for i, j := range perm {
		items[i] = catalog[j].sku
	}
	return items
}

func money(cents int64) string {
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}
