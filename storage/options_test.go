package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/storage"
)

func TestCheckPutOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   storage.PutOptions
		reason string // "" for valid options; else a fragment of the error
	}{
		{"zero value", storage.PutOptions{}, ""},
		{"create-only", storage.PutOptions{IfNoneMatch: true, ContentType: "application/json"}, ""},
		{"compare-and-swap", storage.PutOptions{IfMatch: "abc", ContentType: "application/pdf; charset=binary"}, ""},
		{"metadata", storage.PutOptions{Metadata: map[string]string{"seal-id": "S-1", "source-sm3": "ab12", "x": ""}}, ""},
		{"metadata at the limit", storage.PutOptions{Metadata: map[string]string{"k": strings.Repeat("v", storage.MaxMetadataLen-1)}}, ""},

		{"both conditions", storage.PutOptions{IfNoneMatch: true, IfMatch: "abc"}, `IfMatch "abc" both set`},
		{"content type with newline", storage.PutOptions{ContentType: "text/plain\r\nx: y"}, `content type "text/plain\r\nx: y"`},
		{"non-ASCII content type", storage.PutOptions{ContentType: "text/纯"}, "not printable ASCII"},
		{"upper-case key", storage.PutOptions{Metadata: map[string]string{"Seal-Id": "x"}}, `metadata key "Seal-Id"`},
		{"empty key", storage.PutOptions{Metadata: map[string]string{"": "x"}}, `metadata key ""`},
		{"underscore key", storage.PutOptions{Metadata: map[string]string{"a_b": "x"}}, `metadata key "a_b"`},
		{"control in value", storage.PutOptions{Metadata: map[string]string{"a": "x\x00"}}, `metadata "a" value "x\x00"`},
		{"non-ASCII value", storage.PutOptions{Metadata: map[string]string{"dept": "税务"}}, "not printable ASCII"},
		{"too much", storage.PutOptions{Metadata: map[string]string{"k": strings.Repeat("v", storage.MaxMetadataLen)}}, "2049 bytes"},
	} {
		err := storage.CheckPutOptions(tc.opts)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: %v, want nil", tc.name, err)
		case tc.reason != "" && !errors.Is(err, storage.ErrInvalidOptions):
			t.Errorf("%s: %v, want ErrInvalidOptions", tc.name, err)
		case tc.reason != "" && !strings.Contains(err.Error(), tc.reason):
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.reason)
		}
	}
}
