package eventsource

import (
	"testing"
)

func openMemory(t *testing.T, limits Limits) Store {
	return NewMemoryStore(MemoryConfig{Limits: limits})
}

func TestMemoryStore(t *testing.T) {
	runStoreTests(t, openMemory)
}
