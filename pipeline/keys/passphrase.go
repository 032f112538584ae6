package keys

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// maxPassphraseFile bounds a passphrase file: anything larger is a mistake.
const maxPassphraseFile = 64 << 10

// Passphrase returns the passphrase held by the environment variable
// envVar, or else the contents of the file named by ${envVar}_FILE (the
// Docker and Kubernetes secrets convention; one trailing newline is
// dropped). An empty variable counts as unset. Setting both is an error;
// setting neither, or naming an empty file, is an error wrapping
// ErrNoPassphrase.
func Passphrase(envVar string) ([]byte, error) {
	fileVar := envVar + "_FILE"
	val, file := os.Getenv(envVar), os.Getenv(fileVar)
	switch {
	case val != "" && file != "":
		return nil, fmt.Errorf("keys: both $%s and $%s are set: set only one", envVar, fileVar)
	case val != "":
		return []byte(val), nil
	case file != "":
		return passphraseFile(file, fileVar)
	}
	return nil, fmt.Errorf("%w: set $%s, or $%s to a file holding it", ErrNoPassphrase, envVar, fileVar)
}

func passphraseFile(path, fileVar string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: passphrase file from $%s: %w", fileVar, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	if err != nil {
		return nil, fmt.Errorf("keys: passphrase file %s (from $%s): %w", path, fileVar, err)
	}
	if len(b) > maxPassphraseFile {
		return nil, fmt.Errorf("keys: passphrase file %s (from $%s) is over %d bytes: not a passphrase", path, fileVar, maxPassphraseFile)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: passphrase file %s (from $%s) is empty", ErrNoPassphrase, path, fileVar)
	}
	return b, nil
}
