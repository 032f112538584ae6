// Package keeper changes the secrets that protect signing keys — the
// passphrase of an SM4-encrypted key file, the user PIN of an HSM token —
// and keeps the record of when each last changed, so that sealpipe can
// warn when a secret is older than allowed. It serves the county rules'
// named keeper whose protection password is changed regularly
// (遂平县电子印章管理暂行办法 第十一条).
//
// # Passphrase rotation
//
// RotatePassphrase re-encrypts a key file under a new passphrase. A key
// file and its passphrase file are two files, and no rename replaces two
// files at once, so the rotation makes the key file open with both
// passphrases for as long as the passphrase source may hold either. Each
// step below is one durable replacement of one file (WriteFileAtomic: a
// temporary file in the same folder written, fsynced, renamed over the
// file, the folder fsynced), so a crash leaves each file whole, old or new:
//
//  1. The key file gets two encryptions of the same key, under the new
//     passphrase first and the current one second (package keys opens
//     either: keys.MaxEncryptions).
//  2. The passphrase file gets the new passphrase. When the key moves to
//     a passphrase file of its own, that file is written first and the
//     keyring line then switched to it (Rotation.Switch), one rename.
//  3. The key file keeps only the encryption under the new passphrase.
//  4. The change is recorded (Rotation.Record).
//
// What a crash leaves, and what opens it:
//
//	crash            key file            passphrase source   opens with
//	before 1 ends    current only        current             current
//	after 1          new + current       current             current
//	after 2          new + current       new                 new
//	after 3          new only            new                 new
//
// Until step 3 the current passphrase still opens the key file: a crash
// there leaves two encryptions, which Encryptions reports and which
// running the rotation again removes (with the same new passphrase it
// just finishes step 3). Temporary files are dot-files beside their
// targets, replaced by the next rotation; readers never open them.
//
// # PIN change
//
// ChangePIN changes a token's user PIN with C_SetPIN and then the PIN
// file that the keyring's pin-source names. The token and the file cannot
// change together, so the new PIN is first written durably to a staging
// file beside the PIN file (PendingPINFile); only then is the token asked
// to change, and once it has, the staging file is renamed over the PIN
// file. A crash after the token accepted the PIN and before that rename
// leaves the PIN file with the old PIN; ChangePIN run again finds the
// staging file, logs in with the PIN file's PIN and, if the token refuses
// it, with the staged one, and finishes the rename (at most one refused
// login, which a successful login then resets on common tokens).
//
// # Ages
//
// Ages is the record of when each secret last changed: a small JSON file
// under the data folder's state/ (out of the bucket's reach), replaced
// atomically by each change, so it survives restarts. It is not signed:
// who can write it can also replace the key files it describes.
package keeper
