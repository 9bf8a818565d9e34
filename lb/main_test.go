package lb_test

import (
	"testing"

	"go.uber.org/goleak"
)

// RunHealthChecks starts goroutines; every test must leave none behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
