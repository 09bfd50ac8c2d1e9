//go:build !race

package e2e

// raceBuild reports that the tests run with the race detector.
const raceBuild = false
