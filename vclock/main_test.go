package vclock

import (
	"flag"
	"os"
	"strconv"
	"testing"
)

// propertyChecks is how many random cases each rapid property runs unless
// -rapid.checks is given on the command line.
const propertyChecks = 10000

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if !explicit {
		if err := flag.Set("rapid.checks", strconv.Itoa(propertyChecks)); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
