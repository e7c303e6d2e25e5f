/**
 * The `pkcs11` custody backend: the key encryption key (KEK) is an AES-256 key inside an HSM,
 * reached through a PKCS#11 module with `pkcs11js` (PROTOCOL §9); the HSM seals and opens the
 * records. This is the folder's only entry: import from here, not from the files behind it.
 *
 *     binding.ts  the pkcs11js addon, loaded lazily (local custody never needs it)
 *     ckr.ts      CKR return codes and how they become DtaErrors
 *     module.ts   loaded modules shared by reference count, the token, the login and its PIN check
 *     key.ts      the KEK: template, find by label, attribute check, key id
 *     pool.ts     the session pool: sessions on demand, lost sessions replaced, one retry
 *     custody.ts  seal / unseal / close, openPkcs11Custody, createPkcs11Key, readPkcs11PinFile
 * @module
 */
export { createPkcs11Key, DEFAULT_PKCS11_SESSIONS, openPkcs11Custody, readPkcs11PinFile } from './custody.ts'
export type { Pkcs11Options } from './custody.ts'
export { PKCS11_KEK_ID_LABEL } from './key.ts'
export { DEFAULT_PKCS11_MODULE, loadedPkcs11Modules } from './module.ts'
