package budget

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestOneBudget checks that holders of different kinds draw from one
// budget: room taken by one kind is missing for the other, a share caps its
// kind below the whole, and everything given back is free again.
func TestOneBudget(t *testing.T) {
	defer SetLimit(100)()
	var share atomic.Int64
	if !Take(60, nil, 0) {
		t.Fatal("60 of 100 refused")
	}
	if Take(50, &share, 80) {
		t.Error("50 more taken with 40 left")
	}
	if share.Load() != 0 {
		t.Errorf("a refused Take left %d in its share", share.Load())
	}
	if !Take(30, &share, 80) {
		t.Error("30 refused with 40 left")
	}
	Give(60, nil)
	if Take(60, &share, 80) {
		t.Error("share of 80 passed: 30 held, 60 more taken")
	}
	if !Take(50, &share, 80) {
		t.Error("50 refused within the share and the budget")
	}
	Give(30, &share)
	Give(50, &share)
	if Held() != 0 || share.Load() != 0 {
		t.Errorf("after giving everything back: held %d, share %d", Held(), share.Load())
	}
}

// TestNeverOverspent takes and gives from many goroutines and checks that
// what is held never passes the budget.
func TestNeverOverspent(t *testing.T) {
	defer SetLimit(1000)()
	var share atomic.Int64
	var over atomic.Bool
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 2000 {
				var s *atomic.Int64
				if g%2 == 0 {
					s = &share
				}
				if Take(30, s, 500) {
					if Held() > 1000 || share.Load() > 500 {
						over.Store(true)
					}
					Give(30, s)
				}
			}
		})
	}
	wg.Wait()
	if over.Load() {
		t.Error("the budget or the share was overspent")
	}
	if Held() != 0 {
		t.Errorf("held %d after all was given back", Held())
	}
}
