package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/storage"
)

// Format names the manifest layout this package writes and reads.
const Format = "sealpipe-backup/1"

// ManifestName is the manifest's name in a backup: the object a backup
// writes last, so a backup without one is unfinished.
const ManifestName = "manifest.json"

// Name prefixes in a backup: every object but the manifest is under one.
const (
	// StorePrefix holds the objects of the object store, each under
	// store/<its key>.
	StorePrefix = "store/"
	// DataPrefix holds files of the data folder, each under data/<its
	// path in the folder>: pki/… and keys.conf.
	DataPrefix = "data/"
)

// Manifest lists what a backup holds. It is stored as a signed envelope
// (package signed) by the pipeline's service key.
type Manifest struct {
	// Format is always Format.
	Format string `json:"format"`
	// Version is the version of the sealpipe that took the backup.
	Version string `json:"version"`
	// Created is when the backup was finished.
	Created time.Time `json:"created"`
	// AsOf is the instant of the last look at the registry heads and
	// usage-log checkpoints, which found them as the backup holds them:
	// the registry and usage log in the backup are the store's at AsOf.
	AsOf time.Time `json:"as_of"`
	// Bucket names the bucket the store objects were copied from.
	Bucket string `json:"bucket"`
	// Data is the absolute path of the data folder the files were
	// copied from (a restore elsewhere rewrites keyring lines naming it).
	Data string `json:"data,omitempty"`
	// Seals is the cut the backup holds of each seal, in identifier order.
	Seals []Seal `json:"seals"`
	// Applications is the cut the backup holds of each application for a
	// seal, in identifier order (none in backups from before they were
	// held).
	Applications []Application `json:"applications,omitempty"`
	// Objects lists every object of the backup but the manifest, in
	// name order.
	Objects []Object `json:"objects"`
}

// Seal is how much of one seal's logs a backup holds.
type Seal struct {
	ID string `json:"id"`
	// Registry is the change its registry head names (0: no head, such
	// as a seal of the unsigned layout).
	Registry int `json:"registry,omitempty"`
	// UsageLog is the last usage-log segment held, whose checkpoint is
	// held too (0: none).
	UsageLog int `json:"usage_log,omitempty"`
}

// Application is how much of one application's log a backup holds.
type Application struct {
	ID string `json:"id"`
	// Registry is the change its head names.
	Registry int `json:"registry"`
}

// Object is one object of a backup.
type Object struct {
	// Name is the object's name in the backup: store/<key> or data/<path>.
	Name string `json:"name"`
	// Size is its length in bytes and SM3 the hex SM3 of its content.
	Size int64  `json:"size"`
	SM3  string `json:"sm3"`
	// Mode is a data file's permission bits in octal, such as "0600";
	// empty for store objects.
	Mode string `json:"mode,omitempty"`
}

// Limits of what ParseManifest accepts.
const (
	// MaxManifestSize bounds the stored manifest: about 200 bytes an
	// object, so some two million objects.
	MaxManifestSize = 512 << 20
	maxObjects      = 4 << 20
	maxSeals        = 1 << 20
	maxVersionLen   = 256
	maxDataLen      = 4096
)

// ParseManifest decodes and checks a manifest's payload — the JSON the
// signature covers, which comes from outside and may be anything. A
// payload that is not a well-formed manifest fails with an error wrapping
// ErrVerify: unknown fields, another format, names that are not store/ or
// data/ paths every store and file system takes (storage.CheckKey),
// names out of order or twice, sizes below zero, digests that are not 64
// lower-case hex digits, modes on store objects or malformed ones.
func ParseManifest(payload []byte) (*Manifest, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: manifest: %s", ErrVerify, fmt.Sprintf(format, args...))
	}
	if len(payload) > MaxManifestSize {
		return nil, bad("%d bytes, more than %d", len(payload), MaxManifestSize)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, bad("%v", err)
	}
	if dec.More() {
		return nil, bad("data after the manifest")
	}
	switch {
	case m.Format != Format:
		return nil, bad("format %q, want %q", m.Format, Format)
	case len(m.Version) > maxVersionLen || len(m.Data) > maxDataLen:
		return nil, bad("version or data folder too long")
	case m.Created.IsZero() || m.AsOf.IsZero() || m.AsOf.After(m.Created):
		return nil, bad("taken %s as of %s: not a time it could have been", m.Created.Format(time.RFC3339), m.AsOf.Format(time.RFC3339))
	case len(m.Objects) > maxObjects || len(m.Seals) > maxSeals || len(m.Applications) > maxSeals:
		return nil, bad("%d objects, %d seals and %d applications, more than %d, %d and %d", len(m.Objects), len(m.Seals), len(m.Applications), maxObjects, maxSeals, maxSeals)
	}
	for i, s := range m.Seals {
		switch {
		case s.ID == "" || strings.Contains(s.ID, "/") || storage.CheckKey(s.ID) != nil:
			return nil, bad("seal %q: not a seal identifier", s.ID)
		case i > 0 && s.ID <= m.Seals[i-1].ID:
			return nil, bad("seal %q out of order or listed twice", s.ID)
		case s.Registry < 0 || s.UsageLog < 0:
			return nil, bad("seal %q: negative counts", s.ID)
		}
	}
	for i, a := range m.Applications {
		switch {
		case a.ID == "" || strings.Contains(a.ID, "/") || storage.CheckKey(a.ID) != nil:
			return nil, bad("application %q: not an application identifier", a.ID)
		case i > 0 && a.ID <= m.Applications[i-1].ID:
			return nil, bad("application %q out of order or listed twice", a.ID)
		case a.Registry < 1:
			return nil, bad("application %q: head at change %d", a.ID, a.Registry)
		}
	}
	for i, o := range m.Objects {
		if err := checkObject(o); err != nil {
			return nil, bad("object %q: %v", o.Name, err)
		}
		if i > 0 && o.Name <= m.Objects[i-1].Name {
			return nil, bad("object %q out of order or listed twice", o.Name)
		}
	}
	return &m, nil
}

// checkObject checks one manifest entry.
func checkObject(o Object) error {
	rest, store := strings.CutPrefix(o.Name, StorePrefix)
	if !store {
		var data bool
		if rest, data = strings.CutPrefix(o.Name, DataPrefix); !data {
			return fmt.Errorf("not under %s or %s", StorePrefix, DataPrefix)
		}
	}
	if err := storage.CheckKey(rest); err != nil {
		return err
	}
	if err := storage.CheckKey(o.Name); err != nil {
		return err
	}
	switch {
	case o.Size < 0:
		return fmt.Errorf("size %d", o.Size)
	case !isSM3Hex(o.SM3):
		return fmt.Errorf("SM3 %q: want 64 lower-case hex digits", o.SM3)
	case store && o.Mode != "":
		return fmt.Errorf("a store object with a file mode")
	case !store && !isMode(o.Mode):
		return fmt.Errorf("mode %q: want 0 and three octal digits", o.Mode)
	}
	return nil
}

func isSM3Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isMode(s string) bool {
	if len(s) != 4 || s[0] != '0' {
		return false
	}
	for i := 1; i < 4; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}
