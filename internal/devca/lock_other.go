//go:build !unix || solaris || aix

package devca

import "context"

// lockPath is a no-op where there is no flock: revocations by two
// processes at once may then lose one of them.
func lockPath(context.Context, string) (func(), error) { return func() {}, nil }
