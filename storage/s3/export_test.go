package s3

// SetTestHookBeforeComplete makes every multipart upload call f after its
// parts are uploaded and before it is completed, until restore is called.
// Tests that use it must not run in parallel with other multipart uploads.
func SetTestHookBeforeComplete(f func(key string)) (restore func()) {
	testHookBeforeComplete = f
	return func() { testHookBeforeComplete = nil }
}
