//go:build race

package shard

// raceEnabled trims the heaviest figure runs under the race detector,
// which slows memory-bound loops tenfold.
const raceEnabled = true
