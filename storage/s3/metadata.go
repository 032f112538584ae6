package s3

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/sealpipe/sealpipe/storage"
)

// metaPrefix begins the header of each user metadata entry, in the
// canonical form net/http gives header names.
const metaPrefix = "X-Amz-Meta-"

// encodedWordPrefix begins an RFC 2047 encoded-word. minio-go decodes
// every metadata value that begins with it (minio.ToObjectInfo), as Amazon
// S3 and MinIO send values outside printable ASCII encoded.
const encodedWordPrefix = "=?"

// encodeValue returns the form in which the metadata value v survives an
// HTTP header and minio-go's decoding unchanged: v itself, or, if HTTP
// would trim it (a space at either end, or nothing at all) or minio-go
// would decode it (it begins with "=?"), the RFC 2047 encoded-word of v in
// UTF-8 and base64 (RFC 2047 section 4.1), which minio-go decodes back to
// v. v is printable ASCII (storage.CheckPutOptions), so the word needs no
// splitting into several.
func encodeValue(v string) string {
	if v != "" && v[0] != ' ' && v[len(v)-1] != ' ' && !strings.HasPrefix(v, encodedWordPrefix) {
		return v
	}
	return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}

// encodeMetadata returns user metadata as PutObjectOptions.UserMetadata
// wants it.
func encodeMetadata(md map[string]string) map[string]string {
	if len(md) == 0 {
		return nil
	}
	out := make(map[string]string, len(md))
	for k, v := range md {
		out[k] = encodeValue(v)
	}
	return out
}

// decodeMetadata returns the user metadata carried by the headers h, as
// minio-go returns them with values decoded, with lower-case keys, or nil
// if there is none.
func decodeMetadata(h http.Header) map[string]string {
	var md map[string]string
	for name, values := range h {
		if len(values) == 0 || len(name) <= len(metaPrefix) || !strings.EqualFold(name[:len(metaPrefix)], metaPrefix) {
			continue
		}
		if md == nil {
			md = make(map[string]string)
		}
		md[strings.ToLower(name[len(metaPrefix):])] = values[0]
	}
	return md
}

// objectInfo converts what minio-go learnt of key from a GET or HEAD.
func objectInfo(key string, oi minio.ObjectInfo) (storage.ObjectInfo, error) {
	if oi.Size < 0 {
		return storage.ObjectInfo{}, fmt.Errorf("the server's answer has no Content-Length")
	}
	contentType := oi.ContentType
	if contentType == "" {
		contentType = storage.DefaultContentType
	}
	return storage.ObjectInfo{
		Key:         key,
		Size:        oi.Size,
		ETag:        trimETag(oi.ETag),
		ModTime:     oi.LastModified,
		ContentType: contentType,
		Metadata:    decodeMetadata(oi.Metadata),
	}, nil
}

// trimETag removes the quotes around an ETag; minio-go removes them in most
// places but not all.
func trimETag(etag string) string {
	return strings.TrimSuffix(strings.TrimPrefix(etag, `"`), `"`)
}

// cloneMetadata returns a copy of md, or nil if it is empty, so that the
// ObjectInfo Put returns does not alias the caller's map.
func cloneMetadata(md map[string]string) map[string]string {
	if len(md) == 0 {
		return nil
	}
	return maps.Clone(md)
}
