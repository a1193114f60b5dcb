#include "tls/library_context.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>

namespace sanctum::tls {

namespace {

constexpr const char* kProviderName = "sanctum-lean";

// The default provider, as loaded in OpenSSL's default library context. The
// lean provider hands out its algorithms and its provider context.
OSSL_PROVIDER* default_provider = nullptr;

// The default provider's decoders that read a SubjectPublicKeyInfo, ended by
// an all-null entry as OpenSSL expects.
std::vector<OSSL_ALGORITHM> public_key_decoders;

// The default provider's key managers for the key types that TLS uses:
// key exchange (EC, X25519, X448, DH), signatures (EC, Ed25519, Ed448, RSA,
// RSA-PSS), the TLS 1.3 Finished MAC (HMAC) and the key derivations. The
// others (DSA, DHX, SM2, SCRYPT, SipHash, Poly1305, CMAC) are left out,
// because OpenSSL 3.0 walks every key manager for each key it decodes.
std::vector<OSSL_ALGORITHM> tls_key_managers;

constexpr std::string_view kTlsKeyTypes[] = {"DH",  "EC",      "X25519", "X448", "ED25519", "ED448",
                                             "RSA", "RSA-PSS", "HMAC",   "HKDF", "TLS1-PRF"};

bool manages_tls_key(const OSSL_ALGORITHM& algorithm) {
  std::string_view names = algorithm.algorithm_names;
  std::string_view first = names.substr(0, names.find(':'));
  return std::find(std::begin(kTlsKeyTypes), std::end(kTlsKeyTypes), first) !=
         std::end(kTlsKeyTypes);
}

bool reads_public_key_info(const OSSL_ALGORITHM& algorithm) {
  return algorithm.property_definition != nullptr &&
         std::strstr(algorithm.property_definition, "structure=SubjectPublicKeyInfo") != nullptr;
}

const OSSL_ALGORITHM* lean_query(void*, int operation_id, int* no_cache) {
  if (operation_id == OSSL_OP_DECODER) {
    *no_cache = 0;
    return public_key_decoders.data();
  }
  if (operation_id == OSSL_OP_KEYMGMT) {
    *no_cache = 0;
    return tls_key_managers.data();
  }
  return OSSL_PROVIDER_query_operation(default_provider, operation_id, no_cache);
}

const OSSL_PARAM* lean_gettable_params(void*) {
  return OSSL_PROVIDER_gettable_params(default_provider);
}

int lean_get_params(void*, OSSL_PARAM params[]) {
  return OSSL_PROVIDER_get_params(default_provider, params);
}

// libssl reads the key-exchange groups of each provider through this call.
int lean_get_capabilities(void*, const char* capability, OSSL_CALLBACK* callback, void* argument) {
  return OSSL_PROVIDER_get_capabilities(default_provider, capability, callback, argument);
}

// Deliberately no teardown: the provider context belongs to the default
// provider, which outlives this one.
const OSSL_DISPATCH kLeanDispatch[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, reinterpret_cast<void (*)()>(lean_query)},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, reinterpret_cast<void (*)()>(lean_gettable_params)},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, reinterpret_cast<void (*)()>(lean_get_params)},
    {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, reinterpret_cast<void (*)()>(lean_get_capabilities)},
    {0, nullptr},
};

int lean_init(const OSSL_CORE_HANDLE*, const OSSL_DISPATCH*, const OSSL_DISPATCH** out,
              void** provider_context) {
  *out = kLeanDispatch;
  *provider_context = OSSL_PROVIDER_get0_provider_ctx(default_provider);
  return 1;
}

// Copies the default provider's algorithms of `operation_id` that `keep`
// accepts into `out`, with the all-null end entry. False when none is kept.
bool select_algorithms(int operation_id, bool (*keep)(const OSSL_ALGORITHM&),
                       std::vector<OSSL_ALGORITHM>& out) {
  int no_cache = 0;
  const OSSL_ALGORITHM* all =
      OSSL_PROVIDER_query_operation(default_provider, operation_id, &no_cache);
  for (const OSSL_ALGORITHM* it = all; it != nullptr && it->algorithm_names != nullptr; ++it) {
    if (keep(*it)) {
      out.push_back(*it);
    }
  }
  if (out.empty()) {
    return false;
  }
  out.push_back(OSSL_ALGORITHM{nullptr, nullptr, nullptr, nullptr});
  return true;
}

OSSL_LIB_CTX* build() {
  default_provider = OSSL_PROVIDER_load(nullptr, "default");
  if (default_provider == nullptr) {
    return nullptr;
  }
  if (!select_algorithms(OSSL_OP_DECODER, reads_public_key_info, public_key_decoders) ||
      !select_algorithms(OSSL_OP_KEYMGMT, manages_tls_key, tls_key_managers)) {
    return nullptr;
  }

  OSSL_LIB_CTX* context = OSSL_LIB_CTX_new();
  if (context == nullptr) {
    return nullptr;
  }
  if (OSSL_PROVIDER_add_builtin(context, kProviderName, lean_init) != 1 ||
      OSSL_PROVIDER_load(context, kProviderName) == nullptr) {
    OSSL_LIB_CTX_free(context);
    return nullptr;
  }
  return context;
}

}  // namespace

OSSL_LIB_CTX* server_library_context() {
  static OSSL_LIB_CTX* const context = [] {
    OSSL_LIB_CTX* built = build();
    ERR_clear_error();
    return built;
  }();
  return context;
}

}  // namespace sanctum::tls
