package main

import (
	"io"
	"testing"
)

// TestACMEStorageDefault is the regression test for --domain without a
// config file keeping ACME's accounts and keys in the working directory:
// every flag was laid over the defaults, and --acme-storage's "" became
// the absolute path of ".". Its default is the user's data folder ("").
func TestACMEStorageDefault(t *testing.T) {
	o, err := parseServe([]string{"--domain", "a.example", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig("", o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ACMEStorage != "" {
		t.Errorf("acme storage = %q without --acme-storage, want \"\" (the user's data folder)", cfg.ACMEStorage)
	}
}
