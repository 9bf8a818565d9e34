package bulkhead_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests start many goroutines; every test must leave none behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
