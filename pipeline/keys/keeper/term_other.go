//go:build !linux

package keeper

import (
	"context"
	"io"
	"os"
)

// AskNew fails with ErrNoTerminal: outside Linux, secrets come from files.
func AskNew(context.Context, *os.File, io.Writer, string) ([]byte, error) {
	return nil, ErrNoTerminal
}
