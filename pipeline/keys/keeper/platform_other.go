//go:build !unix

package keeper

import (
	"context"
	"io/fs"
	"os"
)

// sameOwner does nothing where files have no Unix owner.
func sameOwner(*os.File, fs.FileInfo) error { return nil }

// lockDir takes no lock: outside Unix, run one secret change at a time.
func lockDir(context.Context, string) (func(), error) { return func() {}, nil }
