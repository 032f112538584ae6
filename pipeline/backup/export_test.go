package backup

// SetHeadRead makes Take call f after it reads each registry head in a
// look at the store: a test's way to write between two reads of a look.
func SetHeadRead(o *Options, f func(key string)) { o.headRead = f }
