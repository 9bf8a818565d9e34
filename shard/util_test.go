package shard

import "math"

func nanWeight() float64 { return math.NaN() }
func infWeight() float64 { return math.Inf(1) }
