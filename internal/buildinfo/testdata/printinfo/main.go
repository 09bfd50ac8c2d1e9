// Command printinfo prints buildinfo.Read, for the test that the linker
// flags documented in package buildinfo reach it.
package main

import (
	"fmt"

	"github.com/stoahttp/stoa/internal/buildinfo"
)

func main() { fmt.Println(buildinfo.Read()) }
