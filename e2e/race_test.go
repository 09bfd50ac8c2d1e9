//go:build race

package e2e

// raceBuild reports that the tests run with the race detector, so the
// stoa binary is built with it too and any race in the server fails the
// test that provoked it.
const raceBuild = true
