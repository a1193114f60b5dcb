// The server library context: public keys of every type the CA issues decode
// in it, it offers fewer decoders than OpenSSL's default context, and it
// keeps the key managers that TLS needs.

#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include "tls/handles.hpp"
#include "tls/library_context.hpp"

namespace sanctum::tls {
namespace {

// Returns the DER SubjectPublicKeyInfo of a new key of `type` ("EC", "RSA",
// "ED25519"), generated in the default library context.
std::vector<unsigned char> public_key_info(const char* type) {
  EVP_PKEY* key = nullptr;
  if (std::string(type) == "EC") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  } else if (std::string(type) == "RSA") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  }
  EvpPkeyPtr owned(key);
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(owned.get(), &der);
  std::vector<unsigned char> out;
  if (length > 0) {
    out.assign(der, der + length);
  }
  OPENSSL_free(der);
  return out;
}

std::size_t decoder_count(OSSL_LIB_CTX* context) {
  std::size_t count = 0;
  OSSL_DECODER_do_all_provided(
      context, [](OSSL_DECODER*, void* counter) { ++*static_cast<std::size_t*>(counter); },
      &count);
  return count;
}

TEST(ServerLibraryContext, IsBuilt) { EXPECT_NE(server_library_context(), nullptr); }

TEST(ServerLibraryContext, DecodesEveryIssuedKeyType) {
  OSSL_LIB_CTX* context = server_library_context();
  ASSERT_NE(context, nullptr);
  for (const char* type : {"EC", "RSA", "ED25519"}) {
    auto der = public_key_info(type);
    ASSERT_FALSE(der.empty()) << type;
    const unsigned char* cursor = der.data();
    EvpPkeyPtr key(d2i_PUBKEY_ex(nullptr, &cursor, static_cast<long>(der.size()), context,
                                 nullptr));
    ASSERT_NE(key, nullptr) << type;
    EXPECT_TRUE(EVP_PKEY_is_a(key.get(), type)) << type;
  }
}

TEST(ServerLibraryContext, OffersFewerDecodersThanDefault) {
  OSSL_LIB_CTX* context = server_library_context();
  ASSERT_NE(context, nullptr);
  std::size_t lean = decoder_count(context);
  std::size_t full = decoder_count(nullptr);
  EXPECT_GT(lean, 0u);
  EXPECT_LT(lean * 2, full) << "lean " << lean << ", default " << full;
}

TEST(ServerLibraryContext, KeepsTlsKeyManagersOnly) {
  OSSL_LIB_CTX* context = server_library_context();
  ASSERT_NE(context, nullptr);
  for (const char* type : {"EC", "X25519", "X448", "DH", "ED25519", "ED448", "RSA", "RSA-PSS",
                           "HMAC", "HKDF", "TLS1-PRF"}) {
    EVP_KEYMGMT* manager = EVP_KEYMGMT_fetch(context, type, nullptr);
    EXPECT_NE(manager, nullptr) << type;
    EVP_KEYMGMT_free(manager);
  }
  EVP_KEYMGMT* dsa = EVP_KEYMGMT_fetch(context, "DSA", nullptr);
  EXPECT_EQ(dsa, nullptr);
  EVP_KEYMGMT_free(dsa);
  ERR_clear_error();
}

}  // namespace
}  // namespace sanctum::tls
