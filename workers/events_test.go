package workers_test

import (
	"errors"
	"testing"

	"github.com/sealpipe/sealpipe/workers"
)

// accessEvent is a message as MinIO's notify_redis target pushes it in the
// "access" format (shape taken from MinIO's RedisAccessEvent).
const accessEvent = `[{"Event":[{"eventVersion":"2.0","eventSource":"minio:s3","awsRegion":"","eventTime":"2026-11-24T10:00:00.000Z","eventName":"s3:ObjectCreated:Put","userIdentity":{"principalId":"dev"},"requestParameters":{},"responseElements":{},"s3":{"s3SchemaVersion":"1.0","configurationId":"Config","bucket":{"name":"sealpipe","ownerIdentity":{"principalId":"dev"},"arn":"arn:aws:s3:::sealpipe"},"object":{"key":"inbox%2Fcivil-affairs%2Fb%2B1%2F%E8%AF%81%E6%98%8E+1.pdf","size":1234,"eTag":"\"0123abcd\"","contentType":"application/pdf","sequencer":"1"}},"source":{"host":"127.0.0.1","port":"","userAgent":"rclone"}}],"EventTime":"2026-11-24T10:00:00.000Z"}]`

func TestParseBucketEvents(t *testing.T) {
	evs, err := workers.ParseBucketEvents([]byte(accessEvent))
	if err != nil {
		t.Fatal(err)
	}
	want := workers.ObjectEvent{Name: "s3:ObjectCreated:Put", Bucket: "sealpipe", Key: "inbox/civil-affairs/b+1/证明 1.pdf", ETag: "0123abcd", Size: 1234}
	if len(evs) != 1 || evs[0] != want {
		t.Fatalf("got %+v\nwant %+v", evs, want)
	}
	plain := `{"Records":[{"eventName":"s3:ObjectCreated:CompleteMultipartUpload","s3":{"bucket":{"name":"b"},"object":{"key":"a%20b","eTag":"e"}}}]}`
	evs, err = workers.ParseBucketEvents([]byte(plain))
	if err != nil || len(evs) != 1 || evs[0].Key != "a b" {
		t.Fatalf("plain S3 form: %+v, %v", evs, err)
	}
	for _, bad := range []string{
		"", "not json", `[{"Event":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":""},"object":{"key":"k"}}}]}]`,
		`[{"Event":[{"eventName":"x","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}]`, `{"Records": 5}`,
	} {
		if _, err := workers.ParseBucketEvents([]byte(bad)); !errors.Is(err, workers.ErrBadEvent) {
			t.Errorf("ParseBucketEvents(%q) = %v, want ErrBadEvent", bad, err)
		}
	}
}

func FuzzParseBucketEvents(f *testing.F) {
	f.Add([]byte(accessEvent))
	f.Add([]byte(`{"Records":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := workers.ParseBucketEvents(data)
		if err != nil {
			if !errors.Is(err, workers.ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		for _, e := range evs {
			if e.Bucket == "" || e.Key == "" || e.Name == "" {
				t.Fatalf("accepted an incomplete event %+v", e)
			}
		}
	})
}
