//go:build !linux

package fs

// renameNoReplace moves the file from under the name to, failing with an
// error wrapping fs.ErrExist if to exists (linkNoReplace).
func renameNoReplace(from, to string) error { return linkNoReplace(from, to) }
