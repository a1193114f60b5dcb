#pragma once

#include <openssl/types.h>

namespace sanctum::tls {

// The OpenSSL library context that the gateway's server TLS contexts use.
//
// It offers every algorithm of OpenSSL's default provider, but only the key
// decoders that read a SubjectPublicKeyInfo and only the key managers of key
// types that TLS uses. OpenSSL 3.0 decodes the public
// key of every certificate a client sends with OSSL_DECODER_CTX_new_for_pkey,
// which walks every decoder of the library context several times, so the
// cost of each certificate grows with the number of decoders. The default
// provider of OpenSSL 3.0.19 has 40; the other 28 read private keys, PEM,
// MSBLOB and PVK files, which a handshake never does.
//
// Built once, on first use. Returns nullptr when OpenSSL cannot build it;
// callers then use the default library context, which works the same and
// is only slower.
OSSL_LIB_CTX* server_library_context();

}  // namespace sanctum::tls
