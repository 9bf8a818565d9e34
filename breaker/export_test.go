package breaker_test

import "runtime"

var runtime_Goexit = runtime.Goexit
