package s3

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7/pkg/notification"
)

// SubscribeEvents points the bucket's object-created events for keys under
// prefix at the notification target arn, such as a MinIO notify_redis
// target ("arn:minio:sqs::sealpipe:redis"). It replaces the bucket's
// notification configuration: the bucket is the Store's, and sealpipe
// needs this one subscription.
func (s *Store) SubscribeEvents(ctx context.Context, arn, prefix string) error {
	target, err := notification.NewArnFromString(arn)
	if err != nil {
		return fmt.Errorf("s3: notification target %q: %w", arn, err)
	}
	qc := notification.NewConfig(target)
	qc.AddEvents(notification.ObjectCreatedAll)
	qc.AddFilterPrefix(prefix)
	var nc notification.Configuration
	nc.AddQueue(qc)
	if err := s.client.SetBucketNotification(ctx, s.bucket, nc); err != nil {
		return s.classify(ctx, "subscribe events", prefix, err)
	}
	return nil
}
