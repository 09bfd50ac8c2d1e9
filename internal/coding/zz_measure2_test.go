package coding

import (
	"bytes"
	"fmt"
	abflate "github.com/andybalholm/brotli/flate"
	"github.com/andybalholm/brotli/matchfinder"
	"os"
	"os/exec"
	"testing"
	"time"
)

func abSize(d []byte, mf matchfinder.MatchFinder) (int, time.Duration) {
	var b bytes.Buffer
	t0 := time.Now()
	w := &matchfinder.Writer{Dest: &b, MatchFinder: mf, Encoder: abflate.NewEncoder(), BlockSize: 1 << 16}
	w.Write(d)
	w.Close()
	return b.Len() + 18, time.Since(t0)
}
func TestZZMeasure2(t *testing.T) {
	type f struct {
		n string
		d []byte
	}
	var fs []f
	for _, a := range assets() {
		fs = append(fs, f{a.name, a.data})
	}
	for _, p := range realFiles {
		d, _ := os.ReadFile(p)
		fs = append(fs, f{p[len(p)-24:], d})
	}
	for _, x := range fs {
		cmd := exec.Command("gzip", "-9", "-n", "-c")
		cmd.Stdin = bytes.NewReader(x.d)
		g9, _ := cmd.Output()
		t0 := time.Now()
		e, _ := Encode(Gzip, 9, x.d)
		dk := time.Since(t0)
		line := fmt.Sprintf("%-26s %8d gnu9=%7d k9=%7d(%v)", x.n, len(x.d), len(g9), len(e), dk.Round(time.Microsecond*100))
		for _, cfg := range []struct{ ch, hl, ml, bs int }{{32, 5, 0, 0}, {32, 4, 3, 0}, {64, 4, 3, 0}, {128, 4, 3, 0}, {256, 4, 3, 0}, {64, 5, 0, 0}} {
			n, d := abSize(x.d, &matchfinder.Pathfinder{MaxDistance: 1 << 15, ChainLength: cfg.ch, HashLen: cfg.hl, MinLength: cfg.ml})
			line += fmt.Sprintf(" pf%d/%d/%d=%7d(%v)", cfg.ch, cfg.hl, cfg.ml, n, d.Round(time.Microsecond*100))
		}
		fmt.Println(line)
	}
}
