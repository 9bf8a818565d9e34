package retry_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Hedge starts goroutines; every test must leave none behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
