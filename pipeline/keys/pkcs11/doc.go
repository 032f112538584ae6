// Package pkcs11 is the HSM pool: signing keys held in PKCS #11 tokens,
// named by RFC 7512 URIs and opened as crypto.Signer values.
//
// Importing the package registers the "pkcs11" scheme with package keys:
//
//	import _ "github.com/sealpipe/sealpipe/pipeline/keys/pkcs11"
//
//	signer, err := keys.Open(ctx,
//		"pkcs11:token=seals;object=seal-01?module-path=/usr/lib/softhsm/libsofthsm2.so",
//		keys.Options{Passphrase: pin})
//
// keys.Open uses the Backend set with SetDefault, or one with the zero
// Config. Backend.OpenKey opens a key held by several tokens, in one or
// several modules, for failover.
//
// # URIs
//
// A key URI names one token, by token= (label), serial= or slot-id=,
// and one private key on it, by object= (CKA_LABEL) and/or id= (CKA_ID,
// percent-encoded bytes). Other RFC 7512 path attributes (manufacturer,
// model, library-*, slot-*) narrow the match; type, if present, must be
// private. Query attributes give the module (module-path, module-name)
// and the PIN (pin-value, pin-source); without them, Config.Module and
// keys.Options.Passphrase serve. PINs never appear in errors, and URIs
// print without their pin-value.
//
// # Algorithms
//
// ECDSA (P-224 to P-521) and RSA keys sign through
// github.com/ThalesGroup/crypto11, which uses CKM_ECDSA and
// CKM_RSA_PKCS / CKM_RSA_PKCS_PSS. SM2 keys — CKK_EC keys whose
// CKA_EC_PARAMS name the curve 1.2.156.10197.1.301 — sign through
// github.com/miekg/pkcs11 with the vendor mechanism Config.SM2 describes:
// its code, whether it takes e = SM3(Z_A ‖ M) or the message, and whether
// it returns r ‖ s or DER. Whatever the token returns, the Signer returns
// the DER signature, checked to verify under the key.
//
// # Sessions, login and recovery
//
// At most Config.MaxSessions signatures run at once on a token, each on
// its own session; the rest wait, as long as their context allows. The
// pool logs in once per token on a control session it keeps open, checks
// the session state to know whether it is still logged in, and logs in
// again when a call fails with CKR_USER_NOT_LOGGED_IN or with an invalid
// object handle (tokens drop private handles on logout). When a session,
// the token or the library goes away (CKR_SESSION_HANDLE_INVALID,
// CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED, CKR_GENERAL_ERROR, …) it
// closes the connection and dials again, which finds a re-initialised
// token by its URI, logs in and finds the key again, then retries the
// signature once. A key found again must have the same public key
// (ErrKeyChanged otherwise). If the token or key is still missing, the
// call fails with an error wrapping keys.ErrKeyNotFound, and the next call
// tries again.
//
// Tokens lock PINs after a few failures, so a PIN the token refused
// (CKR_PIN_INCORRECT) is never tried twice in a row: not by signatures,
// health checks, nor by opening the key again with it. But a PIN read from
// a pin-source file may have changed under the running pool (sealpipe keys
// change-pin renames the new PIN over the file), so when the token refuses
// it the pool reads the file once more and logs in once with what it
// holds, if that is another PIN. While the token refuses, each call stats
// the file and, once the file changed to another PIN, tries that one,
// once. Keys of one token opened later through the same file take its new
// PIN. A PIN from pin-value or keys.Options.Passphrase is not read again.
// SoftHSM2 reads the PIN with its token in C_Initialize: a running process
// sees a PIN changed by another only after the pool connects again.
//
// SoftHSM2 reads its token directory only in C_Initialize. crypto11
// finalizes a module when its last context on it closes, so a token
// re-initialised under a running process reappears when the pool holds no
// other connection to the module; otherwise after a restart.
//
// # Failover and health
//
// A Signer's members are tried healthy ones first, starting at the next
// member in turn, preferring one with a free session. A member that fails
// after its retry is marked unhealthy and the next one signs. The
// background health check (Config.HealthInterval) and Backend.Check probe
// every member: the token is present, the login holds, the key's handle
// is valid. Signer.Status reports the outcome.
//
// # Metrics
//
// With Config.Registerer set, the pool exports:
//
//	sealpipe_pkcs11_sessions_in_flight{token}     gauge: signatures in progress
//	sealpipe_pkcs11_session_wait_seconds{token}   histogram: wait for a session
//	sealpipe_pkcs11_signatures_total{token}       counter
//	sealpipe_pkcs11_logins_total{token}           counter
//	sealpipe_pkcs11_errors_total{kind}            counter: login, not_found,
//	    handle, session, mechanism, input, timeout, canceled, signature,
//	    key_changed, other — including errors the pool recovered from
//
// # Tests
//
// The tests run against SoftHSM2 for real (each test makes its own token
// under a temporary SOFTHSM2_CONF). SoftHSM2 has no SM2 mechanism, so the
// SM2 signing path is tested against an in-process PKCS #11 test double
// built on gmsm (internal/fakehsm) behind the Module and Dialer
// interfaces, with a configurable vendor mechanism code and input and
// output forms; SM2 key objects themselves are created in and found on
// SoftHSM2.
package pkcs11
