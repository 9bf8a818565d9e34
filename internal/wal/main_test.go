package wal

import (
	"testing"

	"go.uber.org/goleak"
)

// The flusher goroutine must exit on Close: every test ends leak-free.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
