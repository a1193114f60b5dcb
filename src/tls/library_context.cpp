#include "tls/library_context.hpp"

#include <cstring>
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

bool reads_public_key_info(const OSSL_ALGORITHM& algorithm) {
  return algorithm.property_definition != nullptr &&
         std::strstr(algorithm.property_definition, "structure=SubjectPublicKeyInfo") != nullptr;
}

const OSSL_ALGORITHM* lean_query(void*, int operation_id, int* no_cache) {
  if (operation_id == OSSL_OP_DECODER) {
    *no_cache = 0;
    return public_key_decoders.data();
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

OSSL_LIB_CTX* build() {
  default_provider = OSSL_PROVIDER_load(nullptr, "default");
  if (default_provider == nullptr) {
    return nullptr;
  }
  int no_cache = 0;
  const OSSL_ALGORITHM* decoders =
      OSSL_PROVIDER_query_operation(default_provider, OSSL_OP_DECODER, &no_cache);
  for (const OSSL_ALGORITHM* it = decoders; it != nullptr && it->algorithm_names != nullptr; ++it) {
    if (reads_public_key_info(*it)) {
      public_key_decoders.push_back(*it);
    }
  }
  if (public_key_decoders.empty()) {
    return nullptr;
  }
  public_key_decoders.push_back(OSSL_ALGORITHM{nullptr, nullptr, nullptr, nullptr});

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
