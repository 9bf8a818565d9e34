package breaker_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The open period ends on a runtime timer whose callback runs on its own
// goroutine; goleak proves none outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
