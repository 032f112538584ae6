package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// passphraseEnv names the environment variable holding the key passphrase
// (or, with a _FILE suffix, the file holding it).
const passphraseEnv = "SEALPIPE_KEY_PASSPHRASE"

func (g *globals) pkiDir() string   { return filepath.Join(g.data, "pki") }
func (g *globals) storeDir() string { return filepath.Join(g.data, "store") }

// devPassphraseFile is where `ca init` keeps a generated passphrase when
// none is configured. It is for development only and says so.
func (g *globals) devPassphraseFile() string { return filepath.Join(g.pkiDir(), "DEV-ONLY-passphrase") }

// passphrase returns the key passphrase: from the environment, or from the
// development passphrase file. With create set and neither present, it
// makes a development passphrase and warns.
func (g *globals) passphrase(create bool) ([]byte, error) {
	if p, err := keys.Passphrase(passphraseEnv); err == nil {
		return p, nil
	} else if os.Getenv(passphraseEnv) != "" || os.Getenv(passphraseEnv+"_FILE") != "" {
		return nil, usageErr("%v", err)
	}
	if b, err := os.ReadFile(g.devPassphraseFile()); err == nil {
		return bytes.TrimSpace(b), nil
	} else if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, usageErr("no key passphrase: set %s or %s_FILE (or run `sealpipe ca init` for a development one)", passphraseEnv, passphraseEnv)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	p := []byte(hex.EncodeToString(raw))
	if err := os.MkdirAll(g.pkiDir(), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(g.devPassphraseFile(), append(p, '\n'), 0o600); err != nil {
		return nil, err
	}
	g.log.Warn("no key passphrase configured: generated a DEVELOPMENT passphrase stored beside the keys; set "+passphraseEnv+" in production",
		"file", g.devPassphraseFile())
	return p, nil
}

// openStore opens the configured object store: S3 when
// SEALPIPE_S3_ENDPOINT is set, else the local store under the data folder.
func (g *globals) openStore(ctx context.Context) (storage.Store, error) {
	if g.set.get("SEALPIPE_S3_ENDPOINT") == "" {
		return g.localStore()
	}
	secure, err := g.set.bool("SEALPIPE_S3_SECURE")
	if err != nil {
		return nil, err
	}
	st, err := s3.New(ctx, g.s3Config(secure))
	if err != nil {
		return nil, fmt.Errorf("open S3 bucket %q at %s: %w", g.bucket, g.set.get("SEALPIPE_S3_ENDPOINT"), err)
	}
	return st, nil
}

// localStore opens the local object store under the data folder.
func (g *globals) localStore() (*fs.Store, error) {
	st, err := fs.Open(g.storeDir(), g.bucket)
	if err != nil {
		return nil, usageErr("open store: %v", err)
	}
	return st, nil
}

// storeLocation describes where objects live, for messages.
func (g *globals) storeLocation(st storage.Store) string {
	if _, local := st.(*fs.Store); local {
		return filepath.Join(g.storeDir(), st.Bucket())
	}
	return "s3://" + st.Bucket()
}

// openCA loads the development trust chain.
func (g *globals) openCA() (*devca.CA, error) {
	pass, err := g.passphrase(false)
	if err != nil {
		return nil, err
	}
	ca, err := devca.Load(g.pkiDir(), pass)
	if err != nil {
		return nil, usageErr("load the trust chain from %s (run `sealpipe ca init` first): %v", g.pkiDir(), err)
	}
	return ca, nil
}

// trustPool returns the pool of trusted roots: SEALPIPE_ROOTS, else the
// dev CA's root.
func (g *globals) trustPool(ca *devca.CA) (*trust.Pool, error) {
	files := g.set.get("SEALPIPE_ROOTS")
	if files == "" {
		return trust.NewPool([]*smx509.Certificate{ca.Root}), nil
	}
	var roots []*smx509.Certificate
	for _, f := range strings.Split(files, ",") {
		certs, err := trust.LoadCertificates(strings.TrimSpace(f))
		if err != nil {
			return nil, usageErr("SEALPIPE_ROOTS %s: %v", f, err)
		}
		roots = append(roots, certs...)
	}
	return trust.NewPool(roots), nil
}

// keyOpener returns the pipeline's signing keys, each opened on first use.
func (g *globals) keyOpener() (*keys.Cache, error) {
	pass, err := g.passphrase(false)
	if err != nil {
		return nil, err
	}
	return keys.NewCache(func(ctx context.Context, uri string) (crypto.Signer, error) {
		return keys.Open(ctx, uri, keys.Options{Passphrase: pass})
	}), nil
}

// openRegistry opens the seal registry in the configured store.
func (g *globals) openRegistry(ctx context.Context) (*registry.Registry, storage.Store, error) {
	st, err := g.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	return registry.New(st), st, nil
}

// localPipeline assembles a pipeline over the local store and dev PKI.
func (g *globals) localPipeline(ctx context.Context) (*pipeline.Pipeline, error) {
	ca, err := g.openCA()
	if err != nil {
		return nil, err
	}
	reg, st, err := g.openRegistry(ctx)
	if err != nil {
		return nil, err
	}
	open, err := g.keyOpener()
	if err != nil {
		return nil, err
	}
	pool, err := g.trustPool(ca)
	if err != nil {
		return nil, err
	}
	return pipeline.New(st, reg, pool, open, pipeline.Config{Logger: g.log, Operator: actor()}), nil
}

func printJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
